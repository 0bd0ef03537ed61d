"""The billing calendars as Temporal Schedules: sync them from the CRM, list them, fire one.

`sync` reads every contract from the CRM, groups them by billing calendar
(`billing.calendar_due.calendar_of`) and creates or updates one schedule per calendar; a
schedule whose calendar no contract follows any more is deleted. Each fires at five past
midnight of its days in its time zone; a fire missed while the server was down is caught up
within the catch-up window, and every fire's runs have the business-key ids of hand-sent
events, so each period is billed once.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from billing.calendar_due import calendar_of, fire_days, fire_months
from schemas.calendar import CalendarKey, FanOutInput, FanOutResult, Skipped
from workers.settings import Settings
from workflows.calendar_fanout import CalendarFanOutWorkflow

SCHEDULE_PREFIX = "q2c-calendar-"
FIRE_AT = time(0, 5)
"""Five past midnight, local: the day the period ends has begun in the seller's zone."""
PAGE = 1000


@dataclass
class CalendarPlan:
    """The calendars the CRM's contracts follow, how many each, and the contracts skipped."""

    calendars: dict[CalendarKey, int] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)


async def read_plan(http: httpx.AsyncClient, *, default_time_zone: str) -> CalendarPlan:
    """Every contract of the CRM, page by page, sorted into calendars."""
    plan = CalendarPlan()
    after = ""
    while True:
        params: dict[str, str | int] = {"limit": PAGE}
        if after:
            params["after"] = after
        response = await http.get("/crm/contracts", params=params)
        response.raise_for_status()
        contracts: list[dict[str, Any]] = response.json()
        for contract in contracts:
            found = calendar_of(contract, default_time_zone=default_time_zone)
            if isinstance(found, Skipped):
                plan.skipped.append(found)
            else:
                plan.calendars[found] = plan.calendars.get(found, 0) + 1
        if len(contracts) < PAGE:
            return plan
        after = str(contracts[-1]["id"])


def schedule_for(
    key: CalendarKey, settings: Settings, *, runs_task_queue: str | None = None
) -> Schedule:
    """`runs_task_queue`: where the billing runs start (default: the fan-out's own queue)."""
    low, high = fire_days(key)
    return Schedule(
        action=ScheduleActionStartWorkflow(
            CalendarFanOutWorkflow.run,
            FanOutInput(
                calendar=key,
                task_queue=runs_task_queue or settings.task_queue,
                starts_per_second=settings.calendar_starts_per_second,
                page_size=settings.calendar_page_size,
            ),
            id=f"q2c-calendar-fanout-{key.schedule_id.removeprefix(SCHEDULE_PREFIX)}",
            task_queue=settings.task_queue,
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    day_of_month=[ScheduleRange(low, high)],
                    month=[ScheduleRange(m) for m in fire_months(key)],
                    hour=[ScheduleRange(FIRE_AT.hour)],
                    minute=[ScheduleRange(FIRE_AT.minute)],
                    comment=key.describe(),
                )
            ],
            time_zone_name=key.time_zone,
        ),
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.BUFFER_ALL,
            catchup_window=timedelta(days=settings.calendar_catchup_days),
        ),
    )


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    plan: CalendarPlan = field(default_factory=CalendarPlan)


async def sync(client: Client, http: httpx.AsyncClient, *, settings: Settings) -> SyncReport:
    plan = await read_plan(http, default_time_zone=settings.seller_time_zone)
    report = SyncReport(plan=plan)
    wanted = {key.schedule_id: key for key in plan.calendars}
    for schedule_id, key in sorted(wanted.items()):
        schedule = schedule_for(key, settings)
        try:
            await client.create_schedule(schedule_id, schedule)
            report.created.append(schedule_id)
        except ScheduleAlreadyRunningError:

            def replace(_: ScheduleUpdateInput, new: Schedule = schedule) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=new)

            await client.get_schedule_handle(schedule_id).update(replace)
            report.updated.append(schedule_id)
    for existing in await schedule_ids(client):
        if existing not in wanted:
            await client.get_schedule_handle(existing).delete()
            report.deleted.append(existing)
    return report


async def schedule_ids(client: Client) -> list[str]:
    found = []
    async for listed in await client.list_schedules():
        if listed.id.startswith(SCHEDULE_PREFIX):
            found.append(listed.id)
    return sorted(found)


@dataclass
class ListedCalendar:
    schedule_id: str
    description: str
    next_fires: list[datetime]
    paused: bool


async def list_calendars(client: Client, *, upcoming: int = 3) -> list[ListedCalendar]:
    listed = []
    for schedule_id in await schedule_ids(client):
        described = await client.get_schedule_handle(schedule_id).describe()
        specs = described.schedule.spec.calendars
        listed.append(
            ListedCalendar(
                schedule_id=schedule_id,
                description=(specs[0].comment or "") if specs else "",
                next_fires=list(described.info.next_action_times)[:upcoming],
                paused=described.schedule.state.paused,
            )
        )
    return listed


def nominal_fire(key: CalendarKey, day: date) -> datetime:
    """When the calendar's schedule fires on `day`, in UTC."""
    local = datetime.combine(day, FIRE_AT, tzinfo=ZoneInfo(key.time_zone))
    return local.astimezone(ZoneInfo("UTC"))


async def fire(
    client: Client,
    key: CalendarKey,
    day: date,
    *,
    settings: Settings,
    runs_task_queue: str | None = None,
) -> FanOutResult:
    """Run the calendar's fan-out for `day` now, as its schedule would on that day."""
    fired_at = nominal_fire(key, day)
    suffix = key.schedule_id.removeprefix(SCHEDULE_PREFIX)
    return await client.execute_workflow(
        CalendarFanOutWorkflow.run,
        FanOutInput(
            calendar=key,
            task_queue=runs_task_queue or settings.task_queue,
            starts_per_second=settings.calendar_starts_per_second,
            page_size=settings.calendar_page_size,
            fired_at=fired_at,
        ),
        id=f"q2c-calendar-fanout-{suffix}-{day}",
        task_queue=settings.task_queue,
    )


def key_of(schedule_id: str, plan: CalendarPlan) -> CalendarKey | None:
    return next((k for k in plan.calendars if k.schedule_id == schedule_id), None)
