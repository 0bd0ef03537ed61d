"""`q2c bench documents`: documents per second per core for render + validate + PDF."""

import typer
from rich.console import Console

TARGET_PER_SECOND = 25


def register(app: typer.Typer, *, bench: typer.Typer) -> None:  # noqa: ARG001
    @bench.command("documents")
    def documents(
        count: int = typer.Option(100, "--documents", min=1, help="Documents per round"),
        rounds: int = typer.Option(5, min=1, help="Rounds; the median is printed"),
    ) -> None:
        """Render a seven-line invoice as UBL, CII and Factur-X PDF and run the official
        EN 16931 rules on both XML files, in this process, and print the median figures."""
        from devstack.bench import documents as documents_bench

        figures = documents_bench.run(count, rounds=rounds)
        verdict = "meets" if figures.per_cpu_second >= TARGET_PER_SECOND else "misses"
        Console(soft_wrap=True).print(
            f"{figures.rounds} rounds of {figures.documents} documents (UBL + CII validated, "
            f"Factur-X PDF), median: [bold]{figures.per_cpu_second:,.1f} documents/s per "
            f"core[/] ({figures.per_second:,.1f}/s wall clock, {figures.median_ms:.1f} ms per "
            f"document); stylesheets compiled once in {figures.warm_up_seconds:.2f} s; "
            f"{verdict} the target of {TARGET_PER_SECOND}/s on one core",
            highlight=False,
        )
