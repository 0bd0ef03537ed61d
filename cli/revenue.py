"""`q2c revenue`: the recognition schedule, a month's recognition run, and the deferred
revenue waterfall (docs/revenue.md)."""

import asyncio
import json
import re
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from cli.console import err

if TYPE_CHECKING:
    import httpx

    from schemas.revenue import RecognitionRunResult
    from workers.settings import Settings


_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class WaterfallFormat(StrEnum):
    table = "table"
    json = "json"
    html = "html"


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _month(option: str, value: str | None) -> str | None:
    if value is not None and not _MONTH.match(value):
        raise _fail(f"{option}: {value!r} is not a month (YYYY-MM)", 2)
    return value


def _systems(settings: "Settings") -> "httpx.AsyncClient":
    import httpx

    return httpx.AsyncClient(
        base_url=settings.systems_url,
        headers={"Authorization": f"Bearer {settings.systems_token.get_secret_value()}"},
        timeout=settings.http_timeout_seconds,
    )


def _print_run(result: "RecognitionRunResult") -> None:
    out = Console()
    out.print(f"revenue recognised for {result.month}", highlight=False)
    for posted in result.postings:
        where = f" in {posted.period} ({posted.reason})" if posted.reason else ""
        again = " (already booked)" if posted.already_posted else ""
        out.print(
            f"  {posted.posting_key}: {posted.amount} {posted.currency} "
            f"{posted.erp_document_id or '-'}{where}{again}",
            highlight=False,
        )
    for check in result.reconciliations:
        out.print(
            f"  reconciled {check.currency}: ledger {check.ledger_deferred}, "
            f"schedules {check.scheduled_deferred}",
            highlight=False,
        )


def register(app: typer.Typer, *, bench: typer.Typer) -> None:  # noqa: ARG001
    revenue = typer.Typer(no_args_is_help=True, help="Revenue recognition (docs/revenue.md).")
    app.add_typer(revenue, name="revenue")

    @revenue.command("schedule")
    def schedule() -> None:
        """Create or update the Temporal Schedule that recognises each month on the 1st at
        00:00 in Q2C_SELLER_TIME_ZONE."""
        from temporalio.service import RPCError

        from starters.revenue_schedule import SCHEDULE_ID, sync_recognition_schedule
        from workers.client import connect
        from workers.settings import Settings

        settings = Settings()

        async def _sync() -> str:
            client = await connect()
            return await sync_recognition_schedule(
                client, task_queue=settings.task_queue, time_zone=settings.seller_time_zone
            )

        try:
            done = asyncio.run(_sync())
        except RPCError as error:
            raise _fail(f"schedule {SCHEDULE_ID}: {error.message}") from None
        Console().print(
            f"{done} {SCHEDULE_ID}: the 1st of each month, 00:00 {settings.seller_time_zone}, "
            f"task queue {settings.task_queue}",
            highlight=False,
        )

    @revenue.command("recognise")
    def recognise(
        month: str = typer.Option(..., "--month", help="The month to recognise (YYYY-MM)"),
    ) -> None:
        """Run the recognition of one month now and wait for it; each currency's entry is
        booked once, however often this runs."""
        from temporalio.client import WorkflowFailureError
        from temporalio.service import RPCError

        from schemas.revenue import RecognitionRunInput, RecognitionRunResult
        from workers.client import connect
        from workers.settings import Settings
        from workflows.revenue_recognition import RevenueRecognitionWorkflow

        _month("--month", month)
        settings = Settings()

        async def _run() -> RecognitionRunResult:
            client = await connect()
            return await client.execute_workflow(
                RevenueRecognitionWorkflow.run,
                RecognitionRunInput(month=month, time_zone=settings.seller_time_zone),
                id=f"q2c:revenue:{month}",
                task_queue=settings.task_queue,
            )

        try:
            result = asyncio.run(_run())
        except WorkflowFailureError as error:
            raise _fail(f"recognition of {month}: {error.cause or error}") from None
        except RPCError as error:
            raise _fail(f"recognition of {month}: {error.message}") from None
        _print_run(result)

    @revenue.command("waterfall")
    def waterfall_command(
        first: str | None = typer.Option(None, "--from", help="First month (YYYY-MM)"),
        last: str | None = typer.Option(None, "--to", help="Last month (YYYY-MM)"),
        output: WaterfallFormat = typer.Option(WaterfallFormat.table, "--format"),
        out: Path | None = typer.Option(None, "--out", help="Write to this file (html, json)"),
    ) -> None:
        """Deferred revenue per month and currency: opening, billed, recognised, closing."""
        from billing.revenue import Movement, RevenueError
        from ops.revenue_waterfall import (
            WaterfallError,
            build,
            fetch_movements,
            render_html,
            rows_json,
        )
        from workers.settings import Settings

        _month("--from", first)
        _month("--to", last)
        settings = Settings()

        async def _fetch() -> list[Movement]:
            async with _systems(settings) as http:
                return await fetch_movements(http)

        try:
            rows = build(asyncio.run(_fetch()), first=first, last=last)
        except WaterfallError as error:
            raise _fail(f"could not read the ERP: {error}") from None
        except RevenueError as error:
            raise _fail(f"--{error.field}: {error.message}", 2) from None
        if output is WaterfallFormat.table:
            table = Table(title="Deferred revenue waterfall")
            for column in ("month", "currency", "opening", "billed", "recognised", "closing"):
                table.add_column(
                    column, justify="left" if column in ("month", "currency") else "right"
                )
            for r in rows:
                table.add_row(
                    r.month,
                    r.currency,
                    str(r.opening),
                    str(r.billed),
                    str(r.recognised),
                    str(r.closing),
                )
            Console().print(table)
            return
        text = (
            render_html(rows)
            if output is WaterfallFormat.html
            else json.dumps(rows_json(rows), indent=1) + "\n"
        )
        if out is None:
            sys.stdout.write(text)
        else:
            out.write_text(text, encoding="utf-8")
            Console().print(f"wrote {out}", highlight=False)
