"""`q2c chaos`: runs under faults on the embedded stack, then the exactly-once check."""

import asyncio
import json
import sys
import tempfile
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from devstack.chaos import MAX_RUNS, ChaosPlan, ChaosReport, run_chaos

out = Console()
err = Console(stderr=True)


def _print(report: ChaosReport) -> None:
    plan = report.plan
    out.print(
        f"[bold]q2c chaos[/]: {plan.runs} runs, {plan.kill_worker} worker kill(s), "
        f"{plan.restart_server} server restart(s), ERP fault rate {plan.erp_fault_rate:g}, "
        f"seed {plan.seed}",
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
    found.add_row("journal debits / credits", f"{report.debits} / {report.credits}")
    found.add_row("revenue entries booked", str(report.revenue_entries))
    kinds = (
        "not_posted", "missing", "duplicate", "mismatch", "unbalanced", "unexpected", "revenue"
    )  # fmt: skip
    for kind in kinds:
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
        seed: int = typer.Option(7, "--seed", help="Seeds the fault timing and the ERP faults"),
        timeout: float = typer.Option(300.0, "--timeout", help="Give up waiting after (s)"),
        home: Path | None = typer.Option(
            None, "--home", help="Keep the stack's files and logs here (default: a temp dir)"
        ),
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON"),
    ) -> None:
        """Fire runs while the worker is killed, the server restarts and the ERP misbehaves;
        then check the ERP: exactly one posting per run, equal to its invoice, balanced.
        Exits 1 on any loss, duplicate or mismatch."""
        try:
            plan = ChaosPlan(
                runs=runs,
                kill_worker=kill_worker,
                restart_server=restart_server,
                erp_fault_rate=erp_fault_rate,
                latency_ms=latency_ms,
                seed=seed,
                timeout=timeout,
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
