"""The calendar's read side: a page of the CRM's contracts, and which of them close a period
on a fire's day."""

from zoneinfo import ZoneInfo

import httpx
from temporalio import activity

from activities.errors import raise_for_status
from activities.heartbeat import heartbeating
from billing.calendar_due import calendar_of, due_period
from schemas.calendar import DuePage, ListDueInput, Skipped


class CalendarActivities:
    def __init__(self, *, client: httpx.AsyncClient, default_time_zone: str) -> None:
        self._client = client
        self._default_time_zone = default_time_zone

    @activity.defn
    async def list_due(self, input: ListDueInput) -> DuePage:
        """One page of contracts in id order: those on this calendar whose period ends on the
        fire's day (in the calendar's time zone), and those whose calendar cannot be
        computed, with the reason. Contracts of other calendars are passed over."""
        calendar = input.calendar
        day = input.fired_at.astimezone(ZoneInfo(calendar.time_zone)).date()
        params: dict[str, str | int] = {"limit": input.page_size}
        if input.after:
            params["after"] = input.after
        async with heartbeating():
            response = await self._client.get("/crm/contracts", params=params)
        raise_for_status(response, system="crm")
        contracts = response.json()
        page = DuePage(day=day)
        for contract in contracts:
            found = calendar_of(contract, default_time_zone=self._default_time_zone)
            if isinstance(found, Skipped):
                page.skipped.append(found)
            elif found == calendar:
                due = due_period(contract, calendar, day)
                if due is not None:
                    page.due.append(due)
        if len(contracts) == input.page_size:
            page.next_after = str(contracts[-1]["id"])
        return page
