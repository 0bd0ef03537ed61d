"""`q2c intake` (the HTTP intake and its dead letters and unapplied cash) and `q2c send`."""

import asyncio
import json
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from cli.console import err

if TYPE_CHECKING:
    from starters.intake_http.settings import IntakeSettings
    from starters.intake_http.store import IntakeStore

out = Console() if sys.stdout.isatty() else Console(width=160)


def _intake_settings() -> "IntakeSettings":
    from starters.intake_http.settings import IntakeSettings

    return IntakeSettings()


def _store(settings: "IntakeSettings") -> "IntakeStore":
    from starters.intake_http.store import IntakeStore

    store = IntakeStore(url=settings.database_url)
    store.create()
    return store


async def _serve(host: str, port: int) -> None:
    import uvicorn

    from starters.intake_http.app import create_app
    from starters.intake_http.directory import SystemsDirectory
    from workers.client import connect_patiently
    from workers.settings import Settings
    from workers.worker import systems_client

    settings = _intake_settings()
    worker_settings = Settings()
    try:
        client = await connect_patiently(within=worker_settings.connect_timeout_seconds)
    except RuntimeError as error:
        raise typer.Exit(1) from error
    store = _store(settings)
    try:
        async with systems_client(worker_settings) as http:
            directory = SystemsDirectory(http)
            app = create_app(
                client=client,
                store=store,
                settings=settings,
                contracts=directory.contract_customer,
                invoices=directory.posting_key,
            )
            config = uvicorn.Config(
                app, host=host, port=port, log_level="warning", access_log=False
            )
            await uvicorn.Server(config).serve()
    finally:
        store.dispose()


def register(app: typer.Typer, *, bench: typer.Typer) -> None:  # noqa: ARG001
    intake = typer.Typer(
        help="The HTTP intake: serve it, list its dead letters and unapplied cash, redrive."
    )
    app.add_typer(intake, name="intake")

    @intake.callback(invoke_without_command=True)
    def serve(
        ctx: typer.Context,
        host: str | None = typer.Option(None, help="Default Q2C_INTAKE_HOST (127.0.0.1)"),
        port: int | None = typer.Option(None, help="Default Q2C_INTAKE_PORT (8410)"),
    ) -> None:
        """Serve POST /v1/events until SIGINT/SIGTERM (with no subcommand)."""
        if ctx.invoked_subcommand is not None:
            return
        settings = _intake_settings()
        asyncio.run(
            _serve(host or settings.intake_host, settings.intake_port if port is None else port)
        )

    @intake.command("dead-letters")
    def dead_letters(
        include_redriven: bool = typer.Option(False, "--all", help="Also the redriven ones"),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Events that validated but could not start a run, with the reason."""
        store = _store(_intake_settings())
        letters = store.dead_letters(include_redriven=include_redriven)
        store.dispose()
        if as_json:
            rows = [letter.model_dump(mode="json") for letter in letters]
            sys.stdout.write(json.dumps(rows, indent=2) + "\n")
            return
        table = Table("id", "received", "source", "event", "workflow id", "reason", "detail")
        for letter in letters:
            table.add_row(
                str(letter.id),
                f"{letter.created_at:%Y-%m-%d %H:%M:%S}",
                letter.source,
                f"{letter.event_type} {letter.event_id}",
                letter.workflow_id,
                letter.reason,
                letter.redrive_outcome or letter.detail,
            )
        out.print(table)
        out.print(f"{len(letters)} dead letter(s)", highlight=False)

    @intake.command()
    def redrive(letter_id: int = typer.Argument(..., help="The dead letter's id")) -> None:
        """Try a dead letter again; it closes once its run starts."""
        from starters.intake_http.service import Conflict, Intake, Outcome, Unavailable
        from workers.client import connect

        settings = _intake_settings()
        store = _store(settings)

        async def _redrive() -> Any:
            intake = Intake(
                client=await connect(),
                store=store,
                task_queue=settings.task_queue,
                approval_timeout_seconds=settings.approval_timeout_seconds,
                temporal_timeout_seconds=settings.intake_temporal_timeout_seconds,
            )
            return await intake.redrive(letter_id)

        try:
            result = asyncio.run(_redrive())
        except LookupError as error:
            err.print(f"[red]error:[/] {error}", highlight=False)
            raise typer.Exit(2) from None
        except Conflict as error:
            err.print(f"[red]conflict:[/] {error}", highlight=False)
            raise typer.Exit(3) from None
        except (Unavailable, RuntimeError) as error:
            err.print(f"[red]error:[/] could not reach Temporal: {error}", highlight=False)
            raise typer.Exit(1) from None
        finally:
            store.dispose()
        out.print(result.message, highlight=False)
        if result.outcome is Outcome.DEAD_LETTERED:
            raise typer.Exit(4)

    @intake.command()
    def unapplied(as_json: bool = typer.Option(False, "--json")) -> None:
        """Payment and dispute events no run took yet: unapplied cash."""
        store = _store(_intake_settings())
        rows = store.unapplied_cash()
        store.dispose()
        if as_json:
            found = [row.model_dump(mode="json", exclude={"event"}) for row in rows]
            sys.stdout.write(json.dumps(found, indent=2) + "\n")
            return
        table = Table("id", "received", "source", "event", "invoice", "amount", "reason")
        for row in rows:
            table.add_row(
                str(row.id),
                f"{row.received_at:%Y-%m-%d %H:%M:%S}",
                row.source,
                f"{row.event_type} {row.event_id}",
                row.posting_key or row.invoice_number,
                f"{row.amount} {row.currency}",
                row.reason,
            )
        out.print(table)
        out.print(f"{len(rows)} unapplied", highlight=False)

    @intake.command()
    def incidents(
        since: str = typer.Option("", help="Only requests on or after this ISO date"),
    ) -> None:
        """Integration incidents per source: refusals and dead letters, by outcome."""
        from datetime import UTC, datetime

        from starters.intake_http.incidents import incidents_by_source

        try:
            start = datetime.fromisoformat(since).replace(tzinfo=UTC) if since else None
        except ValueError:
            err.print(f"[red]error:[/] --since {since}: not an ISO date", highlight=False)
            raise typer.Exit(2) from None
        store = _store(_intake_settings())
        rows = store.requests(since=start)
        store.dispose()
        table = Table("source", "requests", "accepted", "incidents", "by outcome")
        for source in incidents_by_source(rows):
            detail = ", ".join(f"{k} {v}" for k, v in source.by_outcome.most_common())
            table.add_row(
                source.source,
                str(source.requests),
                str(source.accepted),
                str(source.incidents),
                detail,
            )
        out.print(table)

    @app.command()
    def send(
        event_file: Path = typer.Argument(..., help="An event (or a batch) as JSON; '-': stdin"),
        source: str = typer.Option(..., "--source", help="Whose secret signs it (crm, payments…)"),
        url: str = typer.Option("", help="Default http://Q2C_INTAKE_HOST:Q2C_INTAKE_PORT"),
        webhook_id: str = typer.Option("", help="Default: a new msg_… id"),
    ) -> None:
        """Sign an event with the source's first secret and post it to the intake."""
        import httpx

        from starters.intake_http.signatures import signed_headers

        settings = _intake_settings()
        secrets = settings.webhook_secrets.get(source)
        if not secrets:
            known = ", ".join(sorted(settings.webhook_secrets))
            err.print(
                f"[red]error:[/] --source {source}: no secret (known: {known})", highlight=False
            )
            raise typer.Exit(2)
        try:
            body = sys.stdin.buffer.read() if str(event_file) == "-" else event_file.read_bytes()
        except OSError as error:
            err.print(f"[red]error:[/] {event_file}: {error.strerror}", highlight=False)
            raise typer.Exit(2) from None
        target = url or f"http://{settings.intake_host}:{settings.intake_port}"
        headers = signed_headers(
            secrets[0], webhook_id or f"msg_{uuid.uuid4().hex}", int(time.time()), body
        )
        headers["Content-Type"] = "application/json"
        try:
            response = httpx.post(f"{target}/v1/events", content=body, headers=headers, timeout=30)
        except httpx.HTTPError as error:
            err.print(f"[red]error:[/] {target}: {error}", highlight=False)
            raise typer.Exit(1) from None
        try:
            answer = json.dumps(response.json(), indent=2)
        except ValueError:  # not JSON: a proxy's page, say; shown as it came
            answer = response.text
        sys.stdout.write(answer + "\n")
        if response.status_code >= 400:
            raise typer.Exit(2 if response.status_code < 500 else 1)
