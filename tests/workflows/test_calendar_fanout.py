"""The calendar's fan-out and schedules on the dev server, with the systems service's CRM.

Temporal's time-skipping test server does not implement the Schedule API (CreateSchedule is
"unimplemented" there), so the schedules' fires are driven on the dev server with a
backfill: the server itself evaluates the calendar spec over a past range and starts each
fire with its nominal time, which is what a fire at that time (or a catch-up) does.

The billing runs the fan-out starts go to a task queue no worker polls: these tests count
runs by their ids; billing them is other tests' business.
"""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from temporalio.client import (
    Client,
    ScheduleBackfill,
    ScheduleOverlapPolicy,
    WorkflowExecutionStatus,
)
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from cli import build_app
from devstack.histories_overlap import TEAM_PLAN
from ops.calendar import fire, list_calendars, nominal_fire, schedule_for
from schemas.calendar import CalendarKey, FanOutInput, FanOutResult
from schemas.events import workflow_id_for
from schemas.runs import RunState, RunStatus
from starters.events import cycle_closed
from starters.intake import AlreadyBilled, start_run
from tests.conftest import SystemsService
from tests.workflows.runs import billed_lines, deleted, until, worker_on
from workers.audit.store import AuditStore
from workers.settings import Settings
from workers.worker import build_worker
from workflows.calendar_fanout import CalendarFanOutWorkflow

pytestmark = [pytest.mark.asyncio(loop_scope="session")]


def _settings(queue: str, systems: SystemsService, **fields: Any) -> Settings:
    return Settings(task_queue=queue, systems_url=systems.url, smtp_url=systems.smtp_url, **fields)


async def _put(http: httpx.AsyncClient, contract_id: str, **terms: Any) -> None:
    seeded = (await http.get("/crm/contracts/C-1016", params={"as_of": "2026-01-01"})).json()
    body = {**seeded, "id": contract_id, "effective_from": None, **terms}
    response = await http.put(f"/crm/contracts/{contract_id}", json=body)
    assert response.status_code == 201, response.text


def _run_id(contract_id: str, start: date, end: date) -> str:
    return workflow_id_for(cycle_closed(contract_id, (start, end), event_id="any"))


async def _exists(client: Client, workflow_id: str) -> bool:
    try:
        await client.get_workflow_handle(workflow_id).describe()
    except Exception:
        return False
    return True


async def _runs_with_id(client: Client, workflow_id: str) -> int:
    return len([w async for w in client.list_workflows(f"WorkflowId = '{workflow_id}'")])


@pytest.fixture
async def queue(dev_server_env: WorkflowEnvironment, systems: SystemsService) -> AsyncIterator[str]:
    name = f"q2c-calendar-{uuid.uuid4()}"
    async with (
        systems.client() as http,
        build_worker(dev_server_env.client, settings=_settings(name, systems), http=http),
    ):
        yield name


async def test_a_fire_closes_the_due_periods_once_across_pages_and_skips_bad_calendars(
    dev_server_env: WorkflowEnvironment, systems: SystemsService, queue: str
) -> None:
    client = dev_server_env.client
    # Kathmandu is UTC+05:45: its 1 November at 00:05 is 31 October, 18:20 in UTC.
    zone = "Asia/Kathmandu"
    key = CalendarKey(interval="monthly", alignment="calendar", bill_cycle_day=1, time_zone=zone)
    tag = uuid.uuid4().hex[:6]
    due = [f"C-FAN-{tag}-{n}" for n in range(5)]
    async with systems.client() as http:
        for contract_id in due:
            await _put(http, contract_id, time_zone=zone, start_date="2026-03-01")
        await _put(http, f"C-FAN-{tag}-ended", time_zone=zone, end_date="2026-09-30")
        await _put(http, f"C-FAN-{tag}-day0", time_zone=zone, bill_cycle_day=0)
        await _put(http, f"C-FAN-{tag}-mars", time_zone="Mars/Olympus_Mons")
    october = (date(2026, 10, 1), date(2026, 11, 1))
    runs_queue = f"{queue}-runs"  # nobody bills them here
    # One period closed by hand first: the calendar must not start it again.
    by_hand = cycle_closed(due[0], october, event_id=f"evt-hand-{tag}")
    await start_run(client, by_hand, task_queue=runs_queue)

    settings = _settings(queue, systems, calendar_page_size=4)
    result = await fire(
        client, key, date(2026, 11, 1), settings=settings, runs_task_queue=runs_queue
    )

    assert result.day == date(2026, 11, 1)
    assert result.pages > 1  # continued as new per page of four contracts
    assert (result.started, result.duplicates) == (4, 1)
    for contract_id in due:
        workflow_id = _run_id(contract_id, *october)
        assert await _runs_with_id(client, workflow_id) == 1, workflow_id
    assert not await _exists(client, _run_id(f"C-FAN-{tag}-ended", *october))
    reasons = {(s.contract_id, s.field): s.reason for s in result.skipped}
    assert reasons[(f"C-FAN-{tag}-day0", "bill_cycle_day")].startswith("0 is not a day")
    assert "unknown time zone" in reasons[(f"C-FAN-{tag}-mars", "time_zone")]
    # The scheduled event names the calendar; the hand-sent one kept its own.
    memo = await (await client.get_workflow_handle(_run_id(due[1], *october)).describe()).memo()
    assert memo["event_id"] == f"calendar:{due[1]}:2026-10-01:2026-11-01"
    memo = await (await client.get_workflow_handle(_run_id(due[0], *october)).describe()).memo()
    assert memo["event_id"] == f"evt-hand-{tag}"
    # Fired again (a catch-up, a person): nothing new.
    again = await client.execute_workflow(
        CalendarFanOutWorkflow.run,
        FanOutInput(
            calendar=key,
            task_queue=runs_queue,
            page_size=50,
            fired_at=nominal_fire(key, date(2026, 11, 1)),
        ),
        id=f"q2c-fanout-again-{tag}",
        task_queue=queue,
    )
    assert (again.started, again.duplicates) == (0, 5)


async def test_a_fan_out_resumes_after_its_worker_stops_and_starts_no_run_twice(
    dev_server_env: WorkflowEnvironment, systems: SystemsService
) -> None:
    client = dev_server_env.client
    zone = "America/St_Johns"
    key = CalendarKey(interval="monthly", alignment="calendar", bill_cycle_day=1, time_zone=zone)
    tag = uuid.uuid4().hex[:6]
    due = [f"C-CRASH-{tag}-{n:02d}" for n in range(40)]
    async with systems.client() as http:
        for contract_id in due:
            await _put(http, contract_id, time_zone=zone)
    queue = f"q2c-calendar-crash-{tag}"
    runs_queue = f"{queue}-runs"
    handle = await client.start_workflow(
        CalendarFanOutWorkflow.run,
        FanOutInput(
            calendar=key,
            task_queue=runs_queue,
            starts_per_second=4,  # groups of 16 four seconds apart: time to stop the worker
            page_size=1000,
            fired_at=nominal_fire(key, date(2026, 11, 1)),
        ),
        id=f"q2c-fanout-crash-{tag}",
        task_queue=queue,
    )
    october = (date(2026, 10, 1), date(2026, 11, 1))
    ids = [_run_id(c, *october) for c in due]
    settings = _settings(queue, systems, graceful_shutdown_seconds=0)
    async with systems.client() as http:
        async with build_worker(client, settings=settings, http=http):
            for _ in range(200):
                present = [await _exists(client, w) for w in ids]
                if sum(present) >= 16:  # the first group started, the rest waits
                    break
                await asyncio.sleep(0.05)
    stopped_with = sum([await _exists(client, w) for w in ids])
    assert 0 < stopped_with < len(ids), "the worker stopped before or after the fan-out"
    async with systems.client() as http:
        async with build_worker(client, settings=settings, http=http):
            result: FanOutResult = await asyncio.wait_for(handle.result(), 120)
    assert result.started + result.duplicates == len(due)
    assert result.started >= len(due) - stopped_with
    for workflow_id in ids:
        assert await _runs_with_id(client, workflow_id) == 1, workflow_id


async def test_a_schedule_fires_across_a_leap_day_a_dst_change_and_month_ends(
    dev_server_env: WorkflowEnvironment, systems: SystemsService, queue: str
) -> None:
    client = dev_server_env.client
    tag = uuid.uuid4().hex[:6]
    contract_id = f"C-SCHED-{tag}"
    # Periods on the 31st in Berlin: 29 February 2024 (leap), 31 March (the night before
    # summer time begins), 30 April (00:05 CEST is 29 April, 22:05 UTC).
    zone = "Europe/Berlin"
    async with systems.client() as http:
        await _put(
            http,
            contract_id,
            start_date="2024-01-31",
            alignment="anniversary",
            time_zone=zone,
        )
    key = CalendarKey(
        interval="monthly", alignment="anniversary", bill_cycle_day=31, time_zone=zone
    )
    schedule_id = f"{key.schedule_id}-{tag}"
    runs_queue = f"{queue}-runs"
    schedule = schedule_for(key, _settings(queue, systems), runs_task_queue=runs_queue)
    await client.create_schedule(schedule_id, schedule)
    handle = client.get_schedule_handle(schedule_id)
    try:
        described = await handle.describe()
        assert described.schedule.policy.catchup_window == timedelta(days=7)
        listed = {c.schedule_id: c for c in await list_calendars(client)}
        assert listed[schedule_id].description == "monthly, anniversary, day 31, Europe/Berlin"
        for fire_time in listed[schedule_id].next_fires:  # five past midnight in Berlin
            local = fire_time.astimezone(ZoneInfo(zone))
            assert (local.day >= 28, local.hour, local.minute) == (True, 0, 5), local
        await handle.backfill(
            ScheduleBackfill(
                start_at=datetime(2024, 2, 27, tzinfo=UTC),
                end_at=datetime(2024, 5, 1, tzinfo=UTC),
                overlap=ScheduleOverlapPolicy.ALLOW_ALL,
            )
        )
        fires: list[FanOutResult] = []
        for _ in range(600):
            fires = []
            query = f"WorkflowType = 'CalendarFanOut' AND TemporalScheduledById = '{schedule_id}'"
            async for listed_run in client.list_workflows(query):
                if listed_run.status == WorkflowExecutionStatus.COMPLETED:
                    result = await client.get_workflow_handle(
                        listed_run.id, run_id=listed_run.run_id
                    ).result()
                    fires.append(FanOutResult.model_validate(result))
            if len(fires) == 9:
                break
            await asyncio.sleep(0.2)
    finally:
        await handle.delete()
    # Days 28–31 of February (28, 29), March (28–31) and April (28–30): nine fires, each on
    # its Berlin day, three of which close a period.
    assert sorted(f.day for f in fires) == [
        date(2024, 2, 28),
        date(2024, 2, 29),
        date(2024, 3, 28),
        date(2024, 3, 29),
        date(2024, 3, 30),
        date(2024, 3, 31),
        date(2024, 4, 28),
        date(2024, 4, 29),
        date(2024, 4, 30),
    ]
    closes = [
        (date(2024, 1, 31), date(2024, 2, 29)),
        (date(2024, 2, 29), date(2024, 3, 31)),
        (date(2024, 3, 31), date(2024, 4, 30)),
    ]
    for period in closes:
        assert await _runs_with_id(client, _run_id(contract_id, *period)) == 1, period
    assert sum(f.started for f in fires) == len(closes)


async def test_an_event_sent_by_hand_after_the_fire_says_the_period_was_already_billed(
    dev_server_env: WorkflowEnvironment,
    systems: SystemsService,
    queue: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = dev_server_env.client
    key = CalendarKey(interval="monthly", alignment="calendar", bill_cycle_day=1, time_zone="UTC")
    contract_id = f"C-FAN-{uuid.uuid4().hex[:6]}-late"
    async with systems.client() as http:
        await _put(http, contract_id, time_zone="UTC", start_date="2026-03-01")
    runs_queue = f"{queue}-runs"
    settings = _settings(queue, systems, calendar_page_size=1000)
    await fire(client, key, date(2026, 12, 1), settings=settings, runs_task_queue=runs_queue)
    november = (date(2026, 11, 1), date(2026, 12, 1))
    scheduled = _run_id(contract_id, *november)
    assert await _exists(client, scheduled)

    by_hand = cycle_closed(contract_id, november, event_id="evt-by-hand-late")
    with pytest.raises(AlreadyBilled) as refused:
        await start_run(client, by_hand, task_queue=runs_queue)
    message = str(refused.value)
    assert message.startswith(
        f"the period 2026-11-01 to 2026-12-01 of contract {contract_id} was already billed by "
        f"the scheduled run {scheduled}"
    ), message
    assert f"calendar:{contract_id}:2026-11-01:2026-12-01" in message
    assert "its state: Received" in message  # nobody polls the runs' queue here
    assert await _runs_with_id(client, scheduled) == 1

    # The CLI: a conflict, exit 3 (README, "business keys"), with the same plain message.
    monkeypatch.setenv("TEMPORAL_ADDRESS", client.service_client.config.target_host)
    monkeypatch.setenv("Q2C_TASK_QUEUE", runs_queue)
    event_file = tmp_path / "late.json"
    event_file.write_text(by_hand.model_dump_json())
    result = await asyncio.to_thread(CliRunner().invoke, build_app(), ["start", str(event_file)])
    assert result.exit_code == 3, result.output
    assert "was already billed by the scheduled run" in " ".join(result.output.split())


async def test_the_contracts_a_fire_skips_are_in_the_report_with_their_reasons(
    dev_server_env: WorkflowEnvironment,
    systems: SystemsService,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = dev_server_env.client
    tag = uuid.uuid4().hex[:6]
    day0, mars, backwards = f"C-SKIP-{tag}-day0", f"C-SKIP-{tag}-mars", f"C-SKIP-{tag}-back"
    async with systems.client() as http:
        await _put(http, day0, bill_cycle_day=0)
        await _put(http, mars, time_zone="Mars/Olympus_Mons")
        await _put(http, backwards, start_date="2026-05-01", end_date="2026-04-01")
    key = CalendarKey(interval="monthly", alignment="calendar", bill_cycle_day=1, time_zone="UTC")
    name = f"q2c-calendar-audit-{tag}"
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    audit = AuditStore(url=url)
    audit.create()
    try:
        async with (
            systems.client() as http,
            build_worker(client, settings=_settings(name, systems), http=http, audit=audit),
        ):
            settings = _settings(name, systems, calendar_page_size=1000)
            await fire(
                client, key, date(2026, 12, 1), settings=settings, runs_task_queue=f"{name}-runs"
            )
    finally:
        audit.dispose()

    monkeypatch.setenv("Q2C_AUDIT_DATABASE_URL", url)
    app = build_app()
    as_json = await asyncio.to_thread(CliRunner().invoke, app, ["report", "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    report = json.loads(as_json.output)
    mine = {s["contract_id"]: s for s in report["skipped_contracts"] if tag in s["contract_id"]}
    assert (mine[day0]["field"], mine[mars]["field"], mine[backwards]["field"]) == (
        "bill_cycle_day",
        "time_zone",
        "end_date",
    )
    schedule = key.schedule_id
    assert mine[day0]["reason"] == f"{schedule} on 2026-12-01: 0 is not a day of the month (1–31)"
    assert mine[mars]["reason"].endswith("unknown time zone 'Mars/Olympus_Mons'")
    assert mine[backwards]["reason"].endswith("2026-04-01 is before start_date 2026-05-01")
    assert report["runs"] == 0  # a skipped contract is no run, nor is the fan-out

    as_table = await asyncio.to_thread(CliRunner().invoke, app, ["report"])
    assert as_table.exit_code == 0, as_table.output
    assert "contracts skipped by the calendar" in as_table.output
    assert day0 in as_table.output

    page = tmp_path / "report.html"
    as_html = await asyncio.to_thread(
        CliRunner().invoke, app, ["report", "--format", "html", "--out", str(page)]
    )
    assert as_html.exit_code == 0, as_html.output
    text = page.read_text()
    assert 'id="skipped-contracts"' in text and mars in text
    assert "unknown time zone &#x27;Mars/Olympus_Mons&#x27;" in text


async def _term_ending_in_january_2027(
    systems: SystemsService, zone: str, prefix: str
) -> tuple[CalendarKey, str]:
    """A contract of its own on `zone`'s calendar months from 15 January 2026, with one-year
    terms and only the team plan's fee: its first term ends on 15 January 2027, inside
    January's period. The calendar's key and the contract's id."""
    key = CalendarKey(interval="monthly", alignment="calendar", bill_cycle_day=1, time_zone=zone)
    contract_id = f"{prefix}-{uuid.uuid4().hex[:6]}"
    async with systems.client() as http:
        await _put(
            http,
            contract_id,
            time_zone=zone,
            start_date="2026-01-15",
            term_months=12,
            charges=[TEAM_PLAN],
        )
    return key, contract_id


async def test_a_term_ending_inside_a_period_is_renewed_at_that_periods_fire_and_billed_once(
    dev_server_env: WorkflowEnvironment, systems: SystemsService, queue: str
) -> None:
    # Calendar months from 15 January 2026 with one-year terms: the term ends on 15 January
    # 2027, inside January's period. The fire of 1 February 2027 starts the renewal of
    # [1 January, 1 February) instead of its close, and the worker bills it: February in
    # advance, 120.00 (the contract has no usage charge). A close sent by hand for the same
    # period then has nothing to bill.
    client = dev_server_env.client
    # Pacific/Chatham: this test's own calendar, no other contract is due on it.
    key, contract_id = await _term_ending_in_january_2027(systems, "Pacific/Chatham", "C-TERM")
    january = (date(2027, 1, 1), date(2027, 2, 1))
    settings = _settings(queue, systems, calendar_page_size=1000)
    runs_queue = f"{queue}-runs"  # billed by a worker that delivers too
    result = await fire(
        client, key, date(2027, 2, 1), settings=settings, runs_task_queue=runs_queue
    )
    assert (result.started, result.duplicates) == (1, 0)

    renewal_id = f"q2c:{contract_id}:renewal:2027-01-01:2027-02-01"
    assert not await _exists(client, _run_id(contract_id, *january))
    async with worker_on(dev_server_env, systems, runs_queue):
        # The calendar's runs collect: billed and delivered, the renewal waits for payment.
        renewal = client.get_workflow_handle(renewal_id, result_type=RunStatus)
        renewed = await until(renewal, lambda s: s.state is RunState.AWAITING_PAYMENT, within=90)
        by_hand = cycle_closed(contract_id, january, event_id=f"evt-{contract_id}")
        started = await start_run(client, by_hand, task_queue=runs_queue, collect=False)
        again: RunStatus = await client.get_workflow_handle(
            started.workflow_id, result_type=RunStatus
        ).result()
    assert billed_lines(renewed) == [("team", "120.00", date(2027, 2, 1), date(2027, 3, 1))]

    # The close sent by hand for the same period found the renewal: nothing to bill.
    assert again.state is RunState.NOTHING_TO_BILL
    assert again.documents == []
    assert renewal_id in again.reason
    await renewal.terminate("test over")


async def test_a_renewal_after_retention_deleted_the_close_that_billed_it_finds_it_in_the_erp(
    dev_server_env: WorkflowEnvironment, systems: SystemsService, queue: str
) -> None:
    # Calendar months from 15 January 2026 with one-year terms, as above: the fire of 1
    # February 2027 starts the renewal of [1 January, 1 February). That period was closed
    # by hand first, billing February in advance, 120.00, and retention then deleted the
    # close's run. Temporal no longer knows it; the ERP holds its invoice under its id (the
    # posting key), so the renewal has nothing to bill, and names the close.
    client = dev_server_env.client
    # Pacific/Marquesas: this test's own calendar, no other contract is due on it.
    key, contract_id = await _term_ending_in_january_2027(systems, "Pacific/Marquesas", "C-KEPT")
    january = (date(2027, 1, 1), date(2027, 2, 1))
    february = ("team", "120.00", date(2027, 2, 1), date(2027, 3, 1))
    runs_queue = f"{queue}-runs"
    renewal_id = f"q2c:{contract_id}:renewal:2027-01-01:2027-02-01"
    async with worker_on(dev_server_env, systems, runs_queue):
        by_hand = cycle_closed(contract_id, january, event_id=f"evt-{contract_id}")
        started = await start_run(client, by_hand, task_queue=runs_queue, collect=False)
        close = client.get_workflow_handle(started.workflow_id, result_type=RunStatus)
        billed = await close.result()
        assert billed.state is RunState.DELIVERED, billed.reason
        assert billed_lines(billed) == [february]
        await deleted(client, close.id)

        settings = _settings(queue, systems, calendar_page_size=1000)
        result = await fire(
            client, key, date(2027, 2, 1), settings=settings, runs_task_queue=runs_queue
        )
        assert (result.started, result.duplicates) == (1, 0)
        renewal = client.get_workflow_handle(renewal_id, result_type=RunStatus)
        renewed = await renewal.result()
    assert renewed.state is RunState.NOTHING_TO_BILL, renewed.reason
    assert renewed.documents == []
    assert renewed.reason == (
        f"the period 2027-01-01 to 2027-02-01 was already billed by {close.id}: nothing to bill"
    )
    async with systems.client() as http:
        postings = (await http.get("/erp/postings", params={"contract_id": contract_id})).json()
    assert [line for p in postings for line in p["invoice"]["lines"]] == [
        billed.documents[0].invoice.model_dump(mode="json")["lines"][0]
    ]
