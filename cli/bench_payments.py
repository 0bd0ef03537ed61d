"""`q2c bench payments`: many runs waiting for payment on one worker; its memory."""

import typer
from rich.console import Console

from devstack.bench.payments import run


def register(app: typer.Typer, *, bench: typer.Typer) -> None:  # noqa: ARG001
    @bench.command("payments")
    def payments(
        runs: int = typer.Option(10_000, "--runs", min=1, help="Runs that wait for payment"),
        in_flight: int = typer.Option(
            500, min=1, help="Runs on their way to the payment wait at a time"
        ),
        cache: int = typer.Option(2000, min=1, help="The worker's workflow cache (runs)"),
        timeout: float = typer.Option(
            4 * 3600, min=1, help="Seconds to wait for all runs to wait for payment"
        ),
    ) -> None:
        """Start RUNS runs that are posted, delivered and then all wait for payment on one
        worker; report the worker's memory (target under 1 GB). Progress goes to stderr
        every 30 s."""
        err = Console(stderr=True)
        result = run(
            runs,
            in_flight=in_flight,
            cache=cache,
            timeout=timeout,
            say=lambda message: err.print(f"[dim]{message}[/]", highlight=False),
        )
        Console(soft_wrap=True).print(
            f"{result.runs} runs started in {result.start_seconds:.1f} s, all awaiting "
            f"payment after {result.waiting_seconds:.1f} s "
            f"({result.waiting_per_second:,.1f} runs/s); workflow cache "
            f"{result.cached_workflows}\n"
            f"worker RSS, all waiting for payment: [bold]{result.worker_rss_waiting_mb:.0f} MB[/]"
            f"; peak [bold]{result.worker_peak_rss_mb:.0f} MB[/]",
            highlight=False,
        )
