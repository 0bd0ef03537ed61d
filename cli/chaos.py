"""`q2c chaos`: runs under faults on the embedded stack, then the exactly-once check."""

import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from cli.console import err
from devstack.chaos_keys import MAX_RUNS

if TYPE_CHECKING:
    from devstack.chaos import ChaosReport

out = Console()


def _print(report: "ChaosReport") -> None:
    from devstack.chaos import FINDING_KINDS

    plan = report.plan
    out.print(
        f"[bold]q2c chaos[/]: {plan.runs} runs, {plan.kill_worker} worker kill(s), "
        f"{plan.restart_server} server restart(s), {plan.reset} reset(s), "
        f"ERP fault rate {plan.erp_fault_rate:g}, "
        + (
            f"payment provider fault rate {plan.payments_fault_rate:g}, "
            if plan.collect
            else "no collection, "
        )
        + f"seed {plan.seed}",
        highlight=False,
    )
    actions = Table(title="What it did")
    actions.add_column("at (s)", justify="right")
    actions.add_column("action")
    for action in report.actions:
        actions.add_row(f"{action.at:.2f}", action.what)
    out.print(actions)
    found = Table(title="What it found")
    found.add_column("check")
    found.add_column("result", justify="right")
    found.add_row("runs fired", str(report.runs))
    found.add_row("runs posted", str(report.posted))
    found.add_row("ERP postings", str(report.postings))
    found.add_row("runs reset", str(report.reset))
    found.add_row("report: runs / posted", f"{report.report_runs} / {report.report_posted}")
    if plan.collect:
        found.add_row("runs paid", str(report.paid))
        found.add_row("charges at the provider", str(report.charges))
        found.add_row("ERP cash postings", str(report.cash_postings))
    found.add_row("journal debits / credits", f"{report.debits} / {report.credits}")
    found.add_row("revenue entries booked", str(report.revenue_entries))
    found.add_row("histories replayed", str(report.replayed))
    for kind in FINDING_KINDS:
        count = sum(1 for f in report.findings if f.kind == kind)
        found.add_row(kind.replace("_", " "), f"[red]{count}[/]" if count else "0")
    found.add_row("seconds", f"{report.seconds:g}")
    out.print(found)
    for finding in report.findings:
        out.print(f"[red]{finding.kind}[/] {finding.key}: {finding.detail}", highlight=False)
    verdict = "[green]exactly once: OK[/]" if report.ok else "[red]FAILED[/]"
    out.print(verdict)


def register(app: typer.Typer, *, bench: typer.Typer) -> None:  # noqa: ARG001
    @app.command()
    def chaos(
        runs: int = typer.Option(24, "--runs", help=f"Runs to fire (1-{MAX_RUNS})"),
        kill_worker: int = typer.Option(2, "--kill-worker", help="SIGKILL the worker K times"),
        restart_server: int = typer.Option(
            1, "--restart-server", help="Restart the Temporal dev server R times"
        ),
        erp_fault_rate: float = typer.Option(
            0.2, "--erp-fault-rate", help="Share of ERP calls that fail, throttle or lose"
        ),
        latency_ms: int = typer.Option(0, "--latency-ms", help="Added ERP latency"),
        payments_fault_rate: float = typer.Option(
            0.2,
            "--payments-fault-rate",
            help="Share of payment provider calls that fail, throttle or lose their answer",
        ),
        collect: bool = typer.Option(
            True, "--collect/--no-collect", help="Go on into collection and check the cash"
        ),
        seed: int = typer.Option(7, "--seed", help="Seeds the fault timing and the ERP faults"),
        timeout: float = typer.Option(300.0, "--timeout", help="Give up waiting after (s)"),
        reset: int = typer.Option(
            0, "--reset", help="Reset R posted runs to their first workflow task, faults on"
        ),
        retry_cap: float | None = typer.Option(
            None,
            "--retry-cap",
            help="At most this many seconds between tries of a failed call "
            "(default: the runs' backoff, 1 s doubling up to 60 s)",
        ),
        home: Path | None = typer.Option(
            None, "--home", help="Keep the stack's files and logs here (default: a temp dir)"
        ),
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON"),
    ) -> None:
        """Fire runs while the worker is killed, the server restarts, the ERP misbehaves and
        posted runs are reset; then check the ERP: exactly one posting per run, equal to its
        invoice, balanced; the report's counts; and (with --collect) the cash: each run paid,
        charged once at the payment provider, each payment applied once in the ERP. Exits 1 on
        any loss, duplicate, mismatch or miscount."""
        from devstack.chaos import ChaosPlan, run_chaos

        try:
            plan = ChaosPlan(
                runs=runs,
                kill_worker=kill_worker,
                restart_server=restart_server,
                erp_fault_rate=erp_fault_rate,
                latency_ms=latency_ms,
                payments_fault_rate=payments_fault_rate,
                collect=collect,
                seed=seed,
                timeout=timeout,
                reset=reset,
                retry_cap=retry_cap,
            )
        except ValueError as error:
            err.print(f"[red]error:[/] {error}", highlight=False)
            raise typer.Exit(2) from None
        if home is None:
            with tempfile.TemporaryDirectory(prefix="q2c-chaos-") as scratch:
                report = asyncio.run(run_chaos(plan, home=Path(scratch)))
        else:
            report = asyncio.run(run_chaos(plan, home=home))
        if as_json:
            sys.stdout.write(json.dumps(report.as_json(), indent=2) + "\n")
        else:
            _print(report)
        if not report.ok:
            raise typer.Exit(1)
