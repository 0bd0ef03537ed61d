"""`q2c pay`, `q2c dispute`, `q2c resolve`: a person's payment notice, dispute and resolution
sent to a collecting run as updates; a refusal is printed with its reason (exit 1).
`q2c collections simulate`: a scenario's invoice collected on the time-skipping server."""

import asyncio
import json
import logging
import sys
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table

from cli.console import err

if TYPE_CHECKING:
    from devstack.simulate import Simulation


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/] {message}")
    return typer.Exit(1)


def _model(build: Any) -> BaseModel:
    from schemas.errors import field_problems

    try:
        model: BaseModel = build()
    except ValidationError as error:
        raise _fail(field_problems(error, whole="input")) from None
    return model


def _amount(text: str, option: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise _fail(f"{option}: {text!r} is not a decimal amount") from None


def _send(run: str, update: str, body: BaseModel) -> None:
    from temporalio.client import WorkflowUpdateFailedError
    from temporalio.service import RPCError

    from schemas.collection import CollectionAnswer
    from workers.client import connect

    async def _go() -> CollectionAnswer:
        handle = (await connect()).get_workflow_handle(run)
        answer: CollectionAnswer = await handle.execute_update(
            update, body, result_type=CollectionAnswer
        )
        return answer

    try:
        answer = asyncio.run(_go())
    except WorkflowUpdateFailedError as error:
        raise _fail(f"{run} refused it: {error.cause or error}") from None
    except (RPCError, RuntimeError) as error:
        raise _fail(f"could not reach {run}: {error}") from None
    Console().print(
        f"{answer.outcome}: {answer.detail} · {run} is {answer.state}, {answer.amount_due} due"
    )
    if answer.outcome == "refused":
        raise typer.Exit(1)


def render_simulation(result: "Simulation", console: Console) -> None:
    table = Table(
        title=f"Invoice {result.invoice}, due {result.due_date} (policy {result.policy_version})"
    )
    for column in ("at (UTC)", "state", "level", "action"):
        table.add_column(column)
    for row in result.timeline:
        table.add_row(f"{row.at:%Y-%m-%d %H:%M}", row.state, row.level, row.action)
    console.print(table)
    console.print(f"{result.final_state}: {result.amount_due} {result.currency} due")


def register(app: typer.Typer, *, bench: typer.Typer) -> None:  # noqa: ARG001
    collections = typer.Typer(help="Try a dunning policy on a scenario before using it.")
    app.add_typer(collections, name="collections")

    @collections.command("simulate")
    def simulate_scenario(
        scenario_file: Path = typer.Argument(..., help="The scenario (JSON)"),
        output: str = typer.Option("table", "--format", help="table or json"),
    ) -> None:
        """Run the real collection workflow on the time-skipping server for a scenario's
        invoice, policy and dated events, and print the timeline."""
        from devstack.simulate import (
            ScenarioError,
            check_against_policy,
            load_scenario,
            scenario_policy,
            simulate,
        )

        if output not in ("table", "json"):
            err.print(f"[red]error:[/] --format: {output!r} is not table or json")
            raise typer.Exit(2)
        # The run's notifications are in the timeline; their log lines carry the server's dates.
        logging.getLogger("q2c").setLevel(logging.ERROR)
        try:
            scenario = load_scenario(scenario_file)
            policies = scenario_policy(scenario, base=scenario_file.parent)
            check_against_policy(scenario, policies)
            result = asyncio.run(simulate(scenario, policies))
        except ScenarioError as error:
            err.print(f"[red]error:[/] {scenario_file}: {error}", highlight=False)
            raise typer.Exit(2) from None
        except RuntimeError as error:
            raise _fail(f"the simulation failed: {error}") from None
        if output == "json":
            sys.stdout.write(json.dumps(result.as_json(), indent=1) + "\n")
            return
        render_simulation(result, Console())

    @app.command()
    def pay(
        run: str = typer.Argument(..., help="The run's workflow id"),
        amount: str = typer.Option(..., "--amount", help='Amount received, e.g. "120.00"'),
        reference: str = typer.Option(..., "--reference", help="The bank's reference"),
        currency: str = typer.Option("", "--currency", help="ISO 4217; default: the invoice's"),
        on: str = typer.Option("", "--date", help="Value date, YYYY-MM-DD; default: today"),
        by: str = typer.Option("", "--by", help="Who records it"),
    ) -> None:
        """Record a payment received by transfer for a run's invoice (applied once per
        reference; another currency is refused)."""
        from schemas.collection import PaymentNotice, RecordPayment
        from workflows.collection import RECORD_PAYMENT

        value = _amount(amount, "--amount")
        if not currency:
            currency = _invoice_currency(run)
        try:
            value_date = date.fromisoformat(on) if on else None
        except ValueError:
            raise _fail(f"--date: {on!r} is not a date (YYYY-MM-DD)") from None
        notice = _model(
            lambda: PaymentNotice(
                amount=value, currency=currency, reference=reference, value_date=value_date, by=by
            )
        )
        _send(run, RECORD_PAYMENT, RecordPayment(notice))

    @app.command()
    def dispute(
        run: str = typer.Argument(..., help="The run's workflow id"),
        reason: str = typer.Option(..., "--reason", help="What the customer disputes"),
        by: str = typer.Option("", "--by", help="Who opens it"),
    ) -> None:
        """Open a dispute on a run's invoice: dunning pauses until it is resolved."""
        from schemas.collection import DisputeNotice, RaiseDispute
        from workflows.collection import DISPUTE

        notice = _model(lambda: DisputeNotice(reason=reason, by=by))
        _send(run, DISPUTE, RaiseDispute(notice))

    @app.command()
    def resolve(
        run: str = typer.Argument(..., help="The run's workflow id"),
        credit: str = typer.Option("", "--credit", help="Credit this amount (tax included)"),
        upheld: bool = typer.Option(False, "--upheld", help="The invoice stands"),
        by: str = typer.Option("", "--by", help="Who resolves it"),
        comment: str = typer.Option("", "--comment"),
    ) -> None:
        """End a run's dispute: --upheld (dunning resumes where it was) or --credit AMOUNT (a
        credit note; the rest stays due)."""
        from schemas.collection import DisputeResolution
        from workflows.collection import RESOLVE_DISPUTE

        if upheld == bool(credit):
            raise _fail("give one of --upheld and --credit AMOUNT")
        amount = _amount(credit, "--credit") if credit else None
        resolution = _model(
            lambda: DisputeResolution(
                outcome="credited" if credit else "upheld",
                credit_amount=amount,
                by=by,
                comment=comment,
            )
        )
        _send(run, RESOLVE_DISPUTE, resolution)


def _invoice_currency(run: str) -> str:
    from temporalio.service import RPCError

    from schemas.runs import RunStatus
    from workers.client import connect

    async def _go() -> RunStatus:
        handle = (await connect()).get_workflow_handle(run)
        status: RunStatus = await handle.query("status", result_type=RunStatus)
        return status

    try:
        return asyncio.run(_go()).currency
    except (RPCError, RuntimeError) as error:
        raise _fail(f"could not read {run}'s currency (give --currency): {error}") from None
