"""`q2c queue`: the approvers' queue, the same list the UI shows for
`Q2CStatus = "AwaitingApproval"`, with each run's age, reasons and due time."""

import asyncio
import sys
from datetime import timedelta
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from cli.console import err
from schemas.views import VIEWS, list_link

if TYPE_CHECKING:
    from ops.queue import QueueItem


def _age(seconds: int) -> str:
    return str(timedelta(seconds=max(seconds, 0)))


def render(items: "list[QueueItem]", console: Console) -> None:
    table = Table(title=f"Awaiting approval: {len(items)}", show_lines=True)
    for column in ("run", "customer", "total", "risk", "age", "due (UTC)", "reasons", "asks"):
        table.add_column(column, overflow="fold")
    for item in items:
        table.add_row(
            item.workflow_id + (f"\n{item.link}" if item.link else ""),
            item.customer_id,
            f"{item.total} {item.currency}".strip(),
            item.risk_level,
            _age(item.age_seconds),
            f"{item.due_at:%Y-%m-%d %H:%M}" if item.due_at else "",
            "\n".join(item.reasons) or item.note,
            ", ".join(item.approvers) + (f" ({item.approvals})" if item.approvals else ""),
        )
    console.print(table)


def render_views(ui_url: str, console: Console) -> None:
    """The Web UI's lists of the runs that need a person, as links (docs/approvals.md)."""
    console.print("In the Web UI:")
    for view in VIEWS:
        console.print(f"  {view.name} ({view.purpose}):", highlight=False)
        console.print(f"    {list_link(ui_url, view)}", highlight=False, soft_wrap=True)


def register(app: typer.Typer, *, bench: typer.Typer) -> None:  # noqa: ARG001
    @app.command()
    def queue(
        as_json: bool = typer.Option(False, "--json", help="Print the queue as JSON"),
        limit: int = typer.Option(500, "--limit", min=1, help="At most this many runs"),
    ) -> None:
        """List the runs awaiting approval: age, reasons, due time, who is asked."""
        from temporalio.service import RPCError

        from ops.queue import fetch_queue
        from workers.client import connect
        from workers.settings import Settings

        ui_url = Settings().ui_url

        async def _fetch() -> "list[QueueItem]":
            return await fetch_queue(await connect(), limit=limit, ui_url=ui_url)

        try:
            items = asyncio.run(_fetch())
        except (RPCError, RuntimeError) as error:
            err.print(f"[red]error:[/] could not list the queue: {error}")
            raise typer.Exit(1) from None
        if as_json:
            body = "[" + ",".join(item.model_dump_json() for item in items) + "]"
            sys.stdout.write(body + "\n")
            return
        console = Console()
        render(items, console)
        render_views(ui_url, console)
