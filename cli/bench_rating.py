"""`q2c bench rating`: how many invoices per second rating produces on one core."""

import typer
from rich.console import Console


def register(app: typer.Typer, *, bench: typer.Typer) -> None:  # noqa: ARG001
    @bench.command("rating")
    def rating(
        invoices: int = typer.Option(100_000, min=1, help="Invoices to rate"),
        contracts: int = typer.Option(100, min=1, help="Distinct contracts, rated round-robin"),
        cold: bool = typer.Option(
            False, help="Parse charge properties for every invoice, as a fresh contract would"
        ),
    ) -> None:
        """Rate invoices of five mixed charges (recurring, standard, graduated, volume,
        package) in one process and print invoices per second."""
        from devstack.bench import rating as rating_bench

        result = rating_bench.run(invoices, size=contracts, cold=cold)
        mode = "cold (properties parsed per invoice)" if cold else "warm (parsed properties reused)"
        Console(soft_wrap=True).print(
            f"rated {result.invoices} invoices of 5 charges in {result.seconds:.2f} s, {mode}: "
            f"[bold]{result.per_second:,.0f} invoices/s[/] on one core "
            f"({result.per_cpu_second:,.0f} per CPU second)",
            highlight=False,
        )
