"""`q2c replay`: replay histories against today's code; `q2c histories record`."""

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from cli.console import err

if TYPE_CHECKING:
    from ops.replay import ReplayOutcome

out = Console()


def _print(outcomes: "list[ReplayOutcome]") -> None:
    for outcome in outcomes:
        if outcome.ok:
            out.print(f"[green]OK[/]   {outcome.source}", highlight=False, soft_wrap=True)
            continue
        where = f" at event {outcome.event_id}" if outcome.event_id is not None else ""
        out.print(
            f"[red]FAIL[/] {outcome.source}{where}: {outcome.error}",
            highlight=False,
            soft_wrap=True,
        )
    failed = sum(not o.ok for o in outcomes)
    out.print(f"{len(outcomes)} replayed, {failed} failed", highlight=False)


async def _from_server(workflow_ids: list[str], query: str | None) -> "list[ReplayOutcome]":
    from temporalio.client import WorkflowHistory

    from ops.replay import fetch_histories, replay
    from workers.client import connect

    client = await connect()
    histories: list[tuple[str, WorkflowHistory]] = [
        item async for item in fetch_histories(client, workflow_ids=workflow_ids, query=query)
    ]
    return await replay(histories)


def register(app: typer.Typer, *, bench: typer.Typer) -> None:  # noqa: ARG001
    @app.command(name="replay")
    def replay_command(
        paths: list[Path] = typer.Argument(
            None, help="History files or folders (temporal workflow show --output json)"
        ),
        workflow_id: list[str] = typer.Option(
            [], "--workflow-id", help="Fetch this run's history from the server (repeatable)"
        ),
        query: str | None = typer.Option(
            None, "--query", help='Fetch every run a visibility query finds, e.g. "ContractId=..."'
        ),
    ) -> None:
        """Replay histories with the worker's code and data converter; non-zero on any failure."""
        from temporalio.service import RPCError

        from ops.replay import HistoryFileError, history_files, load_history, replay

        files = history_files(paths or [])
        if not files and not workflow_id and query is None:
            err.print("[red]error:[/] give history files, --workflow-id or --query")
            raise typer.Exit(2)
        try:
            histories = [(str(path), load_history(path)) for path in files]
        except HistoryFileError as error:
            err.print(f"[red]error:[/] {error}", highlight=False)
            raise typer.Exit(2) from None
        outcomes = asyncio.run(replay(histories)) if histories else []
        if workflow_id or query is not None:
            try:
                outcomes += asyncio.run(_from_server(workflow_id, query))
            except (RPCError, RuntimeError) as error:
                err.print(f"[red]error:[/] could not fetch histories: {error}", highlight=False)
                raise typer.Exit(2) from None
        _print(outcomes)
        if not outcomes:
            err.print("[red]error:[/] no history matched")
            raise typer.Exit(2)
        if any(not o.ok for o in outcomes):
            raise typer.Exit(1)

    histories_app = typer.Typer(no_args_is_help=True, help="Recorded histories for replay tests.")
    app.add_typer(histories_app, name="histories")

    @histories_app.command(name="record")
    def record_command(
        out_dir: Path = typer.Option(Path("tests/histories"), "--out", help="Where to write"),
        scenario: list[str] = typer.Option(
            [], "--scenario", help="Only these scenarios (repeatable); default all"
        ),
    ) -> None:
        """Run each workflow scenario on an embedded stack and write its history as JSON."""
        from devstack.histories import record

        try:
            written = asyncio.run(record(out=out_dir, names=scenario))
        except (ValueError, RuntimeError) as error:
            err.print(f"[red]error:[/] {error}", highlight=False)
            raise typer.Exit(1) from None
        for path in written:
            sys.stdout.write(f"wrote {path}\n")
