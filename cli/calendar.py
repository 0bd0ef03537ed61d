"""`q2c calendar sync|list|fire`: the billing calendars as Temporal Schedules."""

import asyncio
import sys
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from cli.console import err

if TYPE_CHECKING:
    from ops.calendar import CalendarPlan, ListedCalendar, SyncReport
    from workers.settings import Settings

out = Console()


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def print_skipped(plan: "CalendarPlan", console: Console) -> None:
    for skipped in plan.skipped:
        console.print(
            f"skipped {skipped.contract_id}: {skipped.field}: {skipped.reason}", highlight=False
        )


def print_sync(report: "SyncReport", console: Console) -> None:
    for verb, ids in (
        ("created", report.created),
        ("updated", report.updated),
        ("deleted", report.deleted),
    ):
        for schedule_id in ids:
            console.print(f"{verb} {schedule_id}", highlight=False)
    counts = ", ".join(
        f"{key.schedule_id}: {n} contract(s)"
        for key, n in sorted(report.plan.calendars.items(), key=lambda item: item[0].schedule_id)
    )
    console.print(f"calendars: {counts or 'none'}", highlight=False)
    print_skipped(report.plan, console)


async def sync_now(settings: "Settings") -> "SyncReport":
    from ops.calendar import sync
    from workers.client import connect
    from workers.worker import systems_client

    client = await connect()
    async with systems_client(settings) as http:
        return await sync(client, http, settings=settings)


def register(app: typer.Typer, *, bench: typer.Typer) -> None:  # noqa: ARG001
    calendar_app = typer.Typer(
        no_args_is_help=True, help="Billing calendars: one Temporal Schedule each."
    )
    app.add_typer(calendar_app, name="calendar")

    @calendar_app.command(name="sync")
    def sync_command() -> None:
        """Create or update one schedule per billing calendar the CRM's contracts follow."""
        from temporalio.service import RPCError

        from workers.settings import Settings

        settings = Settings()
        try:
            report = asyncio.run(sync_now(settings))
        except (RPCError, RuntimeError, OSError) as error:
            raise _fail(f"could not sync the calendars: {error}", 2) from None
        print_sync(report, out)

    @calendar_app.command(name="list")
    def list_command() -> None:
        """The calendars' schedules with their next fire times, and the contracts skipped."""
        from temporalio.service import RPCError

        from ops.calendar import list_calendars, read_plan
        from workers.client import connect
        from workers.settings import Settings
        from workers.worker import systems_client

        settings = Settings()

        async def read() -> "tuple[list[ListedCalendar], CalendarPlan]":
            client = await connect()
            async with systems_client(settings) as http:
                plan = await read_plan(http, default_time_zone=settings.seller_time_zone)
            return await list_calendars(client), plan

        try:
            listed, plan = asyncio.run(read())
        except (RPCError, RuntimeError, OSError) as error:
            raise _fail(f"could not read the calendars: {error}", 2) from None
        table = Table(title="q2c billing calendars")
        for column in ("schedule", "calendar", "contracts", "next fires (UTC)"):
            table.add_column(column)
        counts = {key.schedule_id: n for key, n in plan.calendars.items()}
        for item in listed:
            fires = ", ".join(f"{t:%Y-%m-%d %H:%M}" for t in item.next_fires)
            paused = " (paused)" if item.paused else ""
            table.add_row(
                item.schedule_id,
                item.description + paused,
                str(counts.get(item.schedule_id, 0)),
                fires,
            )
        wide = Console(width=160)  # schedule ids and fire times unwrapped
        wide.print(table)
        print_skipped(plan, wide)

    @calendar_app.command(name="fire")
    def fire_command(
        schedule_id: str = typer.Argument(..., help="The calendar's schedule id (calendar list)"),
        day: str = typer.Option(
            "", "--day", help="The day to close periods on (YYYY-MM-DD); default today there"
        ),
    ) -> None:
        """Run a calendar's fan-out for a day now, as its schedule would, and print the result."""
        from temporalio.service import RPCError

        from ops.calendar import fire, key_of, read_plan
        from workers.client import connect
        from workers.settings import Settings
        from workers.worker import systems_client

        settings = Settings()
        try:
            on = date.fromisoformat(day) if day else None
        except ValueError:
            raise _fail(f"--day: {day!r} is not a date (YYYY-MM-DD)") from None

        async def run() -> str:
            client = await connect()
            async with systems_client(settings) as http:
                plan = await read_plan(http, default_time_zone=settings.seller_time_zone)
            key = key_of(schedule_id, plan)
            if key is None:
                known = ", ".join(sorted(k.schedule_id for k in plan.calendars)) or "none"
                raise _fail(f"schedule_id: no contract follows {schedule_id!r} (known: {known})")
            today = datetime.now(ZoneInfo(key.time_zone)).date()
            result = await fire(client, key, on or today, settings=settings)
            return result.model_dump_json(indent=2)

        try:
            shown = asyncio.run(run())
        except typer.Exit:
            raise
        except (RPCError, RuntimeError, OSError) as error:
            raise _fail(f"could not fire the calendar: {error}", 2) from None
        sys.stdout.write(shown + "\n")
