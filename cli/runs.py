"""Commands that talk to runs: start, approve, reject, status."""

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from cli.console import err

if TYPE_CHECKING:
    from schemas.approvals import Decision, Verdict
    from schemas.runs import RunStatus

out = Console()


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def _print_status(status: "RunStatus", *, as_json: bool) -> None:
    from workflows.details import delivery_line

    if as_json:
        sys.stdout.write(status.model_dump_json(indent=2) + "\n")
        return
    out.print(f"[bold]{status.state.value}[/] · contract {status.contract_id}", highlight=False)
    if status.total is not None:
        out.print(f"total: {status.total} {status.currency}", highlight=False)
    note = status.document("credit_note")
    if note is not None:
        out.print(f"credit note: {note.invoice.total} {note.invoice.currency}", highlight=False)
    if status.reason_code:
        out.print(f"reason: {status.reason_code}: {status.reason}", highlight=False)
    for reason in status.route_reasons:
        out.print(f"needs approval: {reason.code}: {reason.message}", highlight=False)
    for decision in status.decisions:
        out.print(f"decided: {decision.verdict} by {decision.approver}", highlight=False)
    earlier = status.refused_count - len(status.refused)
    if earlier > 0:
        out.print(f"refused: {earlier} earlier attempt(s) not kept", highlight=False)
    for refused in status.refused:
        out.print(f"refused: {refused.cause}", highlight=False)
    for document in status.documents:
        if document.erp_document_id:
            out.print(f"{document.erp_label}: {document.erp_document_id}", highlight=False)
        if document.delivery is not None:
            out.print(delivery_line(document).replace("`", ""), highlight=False)


async def _decide(workflow_id: str, decision: "Decision") -> "RunStatus":
    from schemas.runs import RunStatus
    from starters.intake import run_handle
    from workers.client import connect

    client = await connect()
    handle = run_handle(client, workflow_id)
    result: Any = await handle.execute_update("decide", decision, result_type=RunStatus)
    assert isinstance(result, RunStatus)
    return result


def _decide_command(verdict: "Verdict", run: str, approver: str, comment: str) -> None:
    from temporalio.client import WorkflowUpdateFailedError
    from temporalio.service import RPCError

    from schemas.approvals import Decision

    try:
        decision = Decision(verdict=verdict, approver=approver, comment=comment)
    except ValueError as error:
        raise _fail(str(error)) from None
    try:
        status = asyncio.run(_decide(run, decision))
    except WorkflowUpdateFailedError as error:
        cause = str(error.cause) if error.cause else str(error)
        raise _fail(f"{verdict} refused: {cause}") from None
    except RPCError as error:
        raise _fail(f"{run}: {error.message}") from None
    out.print(f"{verdict} recorded for {run}", highlight=False)
    _print_status(status, as_json=False)


def register(app: typer.Typer, *, bench: typer.Typer) -> None:  # noqa: ARG001
    @app.command()
    def start(
        event_file: Path = typer.Argument(..., help="A contract event as JSON ('-' for stdin)"),
    ) -> None:
        """Validate a contract event and start its billing run (once per business key)."""
        from schemas.events import workflow_id_for
        from starters.intake import EventConflict, EventError, parse_event, start_run
        from workers.client import connect
        from workers.settings import Settings

        data = sys.stdin.buffer.read() if str(event_file) == "-" else _read(event_file)
        try:
            event = parse_event(_text(data, source="stdin" if str(event_file) == "-" else None))
        except EventError as error:
            for problem in error.problems:
                err.print(f"[red]invalid event:[/] {problem}", highlight=False)
            raise typer.Exit(2) from None
        settings = Settings()

        async def _start() -> str:
            client = await connect()
            outcome = await start_run(
                client,
                event,
                task_queue=settings.task_queue,
                approval_timeout_seconds=settings.approval_timeout_seconds,
                collect=True,
            )
            return outcome.message

        try:
            message = asyncio.run(_start())
        except EventConflict as error:
            raise _fail(str(error), code=3) from None
        except RuntimeError as error:
            raise _fail(f"could not reach Temporal: {error}") from None
        out.print(message, highlight=False)
        out.print(settings.ui_link(workflow_id_for(event)), highlight=False)

    @app.command()
    def approve(
        run: str = typer.Argument(..., help="Workflow id of the run"),
        approver: str = typer.Option(..., "--approver", help="Your e-mail"),
        comment: str = typer.Option("", "--comment"),
    ) -> None:
        """Approve a run awaiting approval (refused decisions fail at once)."""
        _decide_command("approve", run, approver, comment)

    @app.command()
    def reject(
        run: str = typer.Argument(..., help="Workflow id of the run"),
        approver: str = typer.Option(..., "--approver", help="Your e-mail"),
        comment: str = typer.Option("", "--comment"),
    ) -> None:
        """Reject a run awaiting approval: nothing is posted."""
        _decide_command("reject", run, approver, comment)

    @app.command()
    def status(
        run: str = typer.Argument(..., help="Workflow id of the run"),
        as_json: bool = typer.Option(False, "--json", help="Print the status as JSON"),
    ) -> None:
        """Show where a run is and why."""
        from temporalio.client import WorkflowQueryFailedError
        from temporalio.service import RPCError

        from ops.query_failure import query_failure
        from schemas.runs import RunStatus
        from starters.intake import run_handle
        from workers.client import connect

        async def _query() -> RunStatus | str:
            client = await connect()
            try:
                result: Any = await run_handle(client, run).query("status", result_type=RunStatus)
            except WorkflowQueryFailedError as error:
                return await query_failure(client.data_converter, error)
            assert isinstance(result, RunStatus)
            return result

        try:
            answer = asyncio.run(_query())
        except RPCError as error:
            raise _fail(f"{run}: {error.message}") from None
        if isinstance(answer, str):
            raise _fail(f"{run}: the status query failed: {answer}")
        _print_status(answer, as_json=as_json)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise _fail(f"{path}: {error.strerror}", code=2) from None


def _text(data: bytes, *, source: str | None) -> str:
    """The event's bytes as text: JSON is UTF-8 (RFC 8259), anything else is refused."""
    from starters.intake import EventError

    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        where = f"{source}: " if source else ""
        raise EventError(
            [f"event: {where}not UTF-8 text (byte {error.start}: {data[error.start]:#04x})"]
        ) from None
