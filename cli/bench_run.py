"""`q2c bench burst`: the month-end close against the server's ceiling, on one local stack."""

import asyncio
import json
import logging
import sys
import tempfile
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from devstack.bench.knobs import KNOB_HELP


def register(app: typer.Typer, *, bench: typer.Typer) -> None:  # noqa: ARG001
    @bench.command("burst")
    def burst(
        runs: int = typer.Option(1_000, "--runs", "-n", min=1, help="Runs per burst (N)"),
        workers: int = typer.Option(1, min=1, help="Worker processes (K), ceiling and q2c"),
        bursts: int = typer.Option(3, min=1, max=8, help="Back-to-back bursts of N runs"),
        latency_runs: int = typer.Option(20, min=1, help="Sequential runs on an idle stack"),
        local_steps: int = typer.Option(
            0,
            min=0,
            help="Also run a ceiling with this many middle steps as local activities",
        ),
        codec_off: bool = typer.Option(
            True,
            "--codec-off/--no-codec-off",
            help="Also q2c bursts with payload encryption off, to compare (double the runs)",
        ),
        as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON"),
        home: Path | None = typer.Option(None, help="Stack files and logs (default: temp)"),
        profile: Path | None = typer.Option(
            None,
            help="Record each q2c worker with py-spy through the bursts into this folder, "
            "and print where its CPU went",
        ),
        knob: list[str] = typer.Option(
            [],
            help=KNOB_HELP,
        ),
        timeout: float | None = typer.Option(
            None,
            min=1,
            help="Seconds for the whole bench once its stack is up; past it, print the "
            "figures of the phases that finished and exit 1",
        ),
    ) -> None:
        """Ceiling (no-op activities), q2c burst (N billing_cycle.closed events at once) and
        single-run latency, in one invocation against one local dev server; q2c with payload
        encryption off first, then on (as shipped), to measure the codec."""
        from devstack.bench.harness import BenchConfig, run_bench
        from devstack.bench.knobs import worker_env_for

        try:
            worker_env = worker_env_for(knob)
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint="--knob") from None
        from cli.console import err

        with tempfile.TemporaryDirectory(prefix="q2c-bench-") as scratch:
            config = BenchConfig(
                home=home or Path(scratch),
                runs=runs,
                workers=workers,
                bursts=bursts,
                latency_runs=latency_runs,
                local_steps=local_steps,
                worker_env=worker_env,
                codec_off=codec_off,
                profile_dir=profile,
                deadline_seconds=timeout,
            )
            report = asyncio.run(run_bench(config, say=lambda m: err.print(f"[dim]{m}[/]")))
        if as_json:
            sys.stdout.write(json.dumps(report.as_json(), indent=2) + "\n")
        else:
            print_report(report.as_json(), Console(width=140))
        if not report.complete:
            err.print(f"[red]incomplete: {report.stopped or report.histories_error}[/]")
            raise typer.Exit(1)

    bench.command("run", help="The same as `q2c bench burst`.")(burst)

    @bench.command("ceiling-worker", hidden=True)
    def ceiling_worker() -> None:
        """The ceiling's worker process, started by `q2c bench burst`."""
        from devstack.bench.ceiling import serve
        from workers.settings import Settings

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        asyncio.run(serve(Settings()))


def print_report(report: dict[str, object], console: Console) -> None:
    table = Table(title="q2c bench burst")
    columns = ("phase", "runs", "ok", "runs/s", "p50 ms", "p95 ms", "p99 ms", "peak MiB")
    # CPU per run of each process kind: where a run's work goes on the shared cores.
    for column in (*columns, "CPU ms/run: worker", "server", "systems", "outbox"):
        table.add_column(column, justify="left" if column == "phase" else "right")
    for kind in ("ceiling", "ceiling_local", "q2c_codec_off", "q2c"):
        figures = report[kind]
        assert isinstance(figures, dict)
        rows = [(f"{kind} burst {i + 1}", f) for i, f in enumerate(figures["bursts"])]
        if figures["latency"]:
            rows.append((f"{kind} latency (idle)", figures["latency"]))
        for label, f in rows:
            table.add_row(
                label,
                str(f["runs"]),
                str(f["ok"]),
                f"{f['runs_per_second']:.1f}",
                f"{f['p50_ms']:.0f}",
                f"{f['p95_ms']:.0f}",
                f"{f['p99_ms']:.0f}",
                f"{f['peak_rss_mib']:.0f}",
                f"{f['worker_cpu_ms_per_run']:.0f}",
                f"{f['server_cpu_ms_per_run']:.0f}",
                f"{f['systems_cpu_ms_per_run']:.0f}",
                f"{f.get('outbox_cpu_ms_per_run', 0.0):.0f}",
            )
    console.print(table)
    ratios = report["ratios"]
    assert isinstance(ratios, dict)
    for name, value in ratios.items():
        console.print(f"{name.replace('_', ' ')}: [bold]{value}[/]", highlight=False)
    histories = report["histories"]
    assert isinstance(histories, dict)
    for name, counts in histories.items():
        console.print(
            f"history {name}: {counts['events']} events, {counts['bytes']} bytes, "
            f"{counts['actions']} actions ({counts['actions_without_upserts']} without upserts)",
            highlight=False,
        )
    profiles = report.get("profiles") or {}
    assert isinstance(profiles, dict)
    for name, summary in profiles.items():
        shares = ", ".join(f"{kind} {pct} %" for kind, pct in summary["share_by_kind"].items())
        console.print(f"profile {name} ({summary['samples']} samples): {shares}", highlight=False)
    console.print(f"machine: {report['machine']}", highlight=False)
