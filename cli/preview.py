"""`q2c preview FILE.json`: the invoice a contract would produce, without a server."""

import decimal
import json
import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from cli import documents as documents_cli
from cli.console import err

if TYPE_CHECKING:
    from billing.preview import PreviewRequest
    from schemas.invoice import Invoice


class OutputFormat(StrEnum):
    json = "json"
    table = "table"
    ubl = "ubl"
    cii = "cii"
    pdf = "pdf"


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/] {message}", highlight=False)
    return typer.Exit(1)


def _not_a_number(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _load(file: Path) -> "PreviewRequest":
    from billing.preview import PreviewRequest
    from schemas.errors import field_problems

    try:
        data = file.read_bytes()
    except OSError as error:
        raise _fail(f"{file}: {error.strerror}") from None
    try:
        raw = json.loads(data.decode("utf-8"), parse_constant=_not_a_number)
    except UnicodeDecodeError as error:
        raise _fail(f"{file}: not UTF-8 text (byte {error.start})") from None
    except RecursionError:
        raise _fail(f"{file}: not valid JSON: nested too deep") from None
    except ValueError as error:  # json.JSONDecodeError and NaN/Infinity
        raise _fail(f"{file}: not valid JSON: {error}") from None
    try:
        return PreviewRequest.model_validate(raw)
    except ValidationError as error:
        raise _fail(field_problems(error, whole="(file)", sep="\n")) from None


def _table(document: "Invoice") -> Table:
    kind = "Credit note" if document.document_type == "credit_note" else "Invoice"
    table = Table(
        title=(
            f"{kind} {document.invoice_id} · contract {document.contract_id} · "
            f"{document.period_start}..{document.period_end} (end exclusive) · "
            f"{document.currency}"
        ),
        show_lines=True,
    )
    for column in ("line", "description", "charge_model", "quantity", "unit_amount"):
        table.add_column(column)
    table.add_column("amount", justify="right")
    for line in document.lines:
        table.add_row(
            line.line_id,
            line.description,
            line.charge_model,
            "" if line.quantity is None else format(line.quantity, "f"),
            "" if line.unit_amount is None else format(line.unit_amount, "f"),
            format(line.amount, "f"),
        )
    for tax in document.tax_lines:
        table.add_row(
            "",
            f"tax {tax.jurisdiction} {tax.tax_type} on {tax.line_id}",
            tax.category_code,
            format(tax.taxable_amount, "f"),
            format(tax.rate, "f"),
            format(tax.tax_amount, "f"),
        )
    for label, value in (
        ("subtotal", document.subtotal),
        ("tax_total", document.tax_total),
        ("total", document.total),
    ):
        table.add_row("", f"[bold]{label}[/]", "", "", "", f"[bold]{format(value, 'f')}[/]")
    return table


def register(app: typer.Typer, *, bench: typer.Typer) -> None:  # noqa: ARG001
    @app.command("preview")
    def preview_command(
        file: Path = typer.Argument(..., help="Preview file: contract, usage, period (JSON)"),
        output: OutputFormat = typer.Option(
            OutputFormat.table, "--format", help="json, table, or ubl, cii, pdf (with --out)"
        ),
        out: Path | None = typer.Option(None, "--out", help="File for ubl, cii or pdf"),
        issue_date: datetime | None = typer.Option(
            None, formats=["%Y-%m-%d"], help="Issue date of ubl, cii, pdf (default: today)"
        ),
    ) -> None:
        """Print the invoice a contract would produce for a period (docs/preview.md)."""
        from billing.preview import needs_tax, preview, revenue_schedules
        from billing.rating_error import RatingError
        from billing.tax import RuleTableEngine, TaxError

        request = _load(file)
        try:
            engine = RuleTableEngine() if needs_tax(request) else None
            documents = preview(request, tax_engine=engine)
        except RatingError as error:
            raise _fail(str(error)) from None
        except TaxError as error:
            raise _fail(f"tax: {error.code}: {error.message}") from None
        except decimal.DecimalException:
            # Amounts within their bounds can still multiply past exact decimal arithmetic.
            raise _fail("an amount is too large to rate exactly to the minor unit") from None
        if output.value in documents_cli.E_INVOICE_FORMATS:
            issued = issue_date.date() if issue_date else datetime.now(UTC).date()
            documents_cli.write_preview(
                request, documents, output=output.value, out=out, issue_date=issued
            )
            return
        if output is OutputFormat.json:
            try:
                schedules = revenue_schedules(request, documents)
            except RatingError as error:
                raise _fail(str(error)) from None
            payload = [
                document.model_dump(mode="json")
                | {"revenue_schedule": [entry.model_dump(mode="json") for entry in schedule]}
                for document, schedule in zip(documents, schedules, strict=True)
            ]
            shown = payload[0] if len(payload) == 1 else payload
            sys.stdout.write(json.dumps(shown, indent=2) + "\n")
            return
        console = Console()
        if not documents:
            console.print("nothing to bill: the change moves no in-advance fee")
        for document in documents:
            console.print(_table(document))
            console.print("[bold]rules[/]")
            for line in document.lines:
                console.print(f"  {line.line_id}: {line.rule}", highlight=False)
            for tax in document.tax_lines:
                console.print(
                    f"  tax on {tax.line_id}: {tax.taxability_reason}, rule {tax.rule_id} "
                    f"({tax.source})",
                    highlight=False,
                )
            for note in document.notes:
                console.print(f"note: {note}", highlight=False)
