"""`q2c bench close`: one month-end fire of the billing calendar against the ceiling."""

import asyncio
import json
import sys
import tempfile
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table


def register(app: typer.Typer, *, bench: typer.Typer) -> None:  # noqa: ARG001
    @bench.command("close")
    def close(
        contracts: int = typer.Option(10_000, "--contracts", "-n", min=1, help="Contracts (N)"),
        workers: int = typer.Option(1, min=1, help="Worker processes, ceiling and q2c"),
        starts_per_second: float = typer.Option(
            200.0, min=0.1, help="The fan-out's throttle (Q2C_CALENDAR_STARTS_PER_SECOND)"
        ),
        page_size: int = typer.Option(500, min=1, max=1000, help="Contracts per fan-out page"),
        as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON"),
        home: Path | None = typer.Option(None, help="Stack files and logs (default: temp)"),
    ) -> None:
        """Seed N contracts, run N same-shape ceiling runs and N plain ones, then fire the
        calendar once for 1 November 2026 and wait for every October close to post."""
        from cli.console import err
        from devstack.bench.close import CloseConfig, run_close_bench

        with tempfile.TemporaryDirectory(prefix="q2c-bench-close-") as scratch:
            config = CloseConfig(
                home=home or Path(scratch),
                contracts=contracts,
                workers=workers,
                starts_per_second=starts_per_second,
                page_size=page_size,
            )
            report = asyncio.run(run_close_bench(config, say=lambda m: err.print(f"[dim]{m}[/]")))
        figures = report.as_json()
        if as_json:
            sys.stdout.write(json.dumps(figures, indent=2, default=str) + "\n")
            return
        table = Table(title=f"q2c bench close: {contracts} contracts")
        table.add_column("figure")
        table.add_column("value", justify="right")
        for section in ("ceiling_same_shape", "ceiling_plain", "q2c_fire", "ratios"):
            for name, value in (figures.get(section) or {}).items():
                table.add_row(f"{section}.{name}", str(value))
        Console(width=140).print(table)
