"""`q2c receivables`: open items by age per currency, from the ERP's open-items view."""

import asyncio
import sys
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from cli.console import err

if TYPE_CHECKING:
    from ops.receivables import Receivables


def render(receivables: "Receivables", console: Console) -> None:
    from billing.receivables import AGING_BUCKETS

    aging = Table(title=f"Receivables by age at the end of {receivables.as_of}")
    for column in ("currency", *AGING_BUCKETS, "open", "items"):
        aging.add_column(column, justify="left" if column == "currency" else "right")
    for row in receivables.by_currency:
        aging.add_row(
            row.currency,
            *(str(row.buckets[b]) for b in AGING_BUCKETS),
            str(row.total),
            str(row.items),
        )
    console.print(aging)
    items = Table(title=f"Open items: {len(receivables.items)}")
    for column in ("customer", "document", "type", "due", "days past due", "bucket", "open"):
        items.add_column(column, overflow="fold")
    for item in receivables.items:
        items.add_row(
            item.customer_id,
            item.erp_document_id,
            item.document_type,
            str(item.due_date or ""),
            str(item.days_past_due),
            item.bucket,
            f"{item.open_amount} {item.currency}",
        )
    console.print(items)
    if receivables.credit_balance:
        held = ", ".join(f"{v} {c}" for c, v in receivables.credit_balance.items())
        console.print(f"Credit balances held for customers: {held}")


def register(app: typer.Typer, *, bench: typer.Typer) -> None:  # noqa: ARG001
    @app.command()
    def receivables(
        as_json: bool = typer.Option(False, "--json", help="Print the receivables as JSON"),
        as_of: str = typer.Option("", "--as-of", help="Age at the end of this day (YYYY-MM-DD)"),
    ) -> None:
        """List open items by age (current, 1-30, 31-60, 61-90, 90+ days past due) per
        currency, from the ERP."""
        try:
            day = date.fromisoformat(as_of) if as_of else datetime.now(UTC).date()
        except ValueError:
            err.print(f"[red]error:[/] --as-of: {as_of!r} is not a date")
            raise typer.Exit(2) from None
        import httpx

        from ops.receivables import ReceivablesError, fetch_receivables
        from workers.settings import Settings

        settings = Settings()

        async def _fetch() -> "Receivables":
            async with httpx.AsyncClient(
                base_url=settings.systems_url,
                headers={"Authorization": f"Bearer {settings.systems_token.get_secret_value()}"},
                timeout=settings.http_timeout_seconds,
            ) as http:
                return await fetch_receivables(http, as_of=day)

        try:
            found = asyncio.run(_fetch())
        except ReceivablesError as error:
            err.print(f"[red]error:[/] could not read the receivables: {error}")
            raise typer.Exit(1) from None
        if as_json:
            sys.stdout.write(found.model_dump_json(indent=1) + "\n")
            return
        render(found, Console())
