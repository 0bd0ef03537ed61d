"""`q2c report`: cycle time, straight-through rate, exceptions and aging, from the audit trail."""

import sys
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    HTML = "html"


def parse_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date; use YYYY-MM-DD", param_hint="--since"
        ) from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def register(app: typer.Typer, *, bench: typer.Typer) -> None:  # noqa: ARG001
    @app.command()
    def report(
        since: str | None = typer.Option(
            None, help="Only runs received on or after this day (YYYY-MM-DD, UTC)"
        ),
        format: Format = typer.Option(Format.TABLE, "--format", help="table, json or html"),
        out: Path | None = typer.Option(None, "--out", help="Write to this file, not stdout"),
    ) -> None:
        """Report on invoice automation from the audit trail (Q2C_AUDIT_DATABASE_URL)."""
        from ops.report.build import load, write_html
        from ops.report.render import print_table
        from workers.settings import Settings

        settings = Settings()
        figures = load(url=settings.audit_url, since=parse_since(since))
        if format is Format.HTML and out is not None:
            typer.echo(f"report written to {write_html(figures, out)}")
            return
        if format is Format.TABLE:
            if out is None:
                print_table(figures, Console())
                return
            with out.open("w", encoding="utf-8") as file:
                print_table(figures, Console(file=file, width=160))
            return
        from ops.report.render import html

        text = figures.model_dump_json(indent=2) if format is Format.JSON else html(figures)
        if out is None:
            sys.stdout.write(text + "\n")
        else:
            out.write_text(text + "\n", encoding="utf-8")
