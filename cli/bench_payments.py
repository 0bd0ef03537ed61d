"""`q2c bench payments`: many runs waiting for payment on one worker; its memory."""

import typer
from rich.console import Console


def register(app: typer.Typer, *, bench: typer.Typer) -> None:  # noqa: ARG001
    @bench.command("payments")
    def payments(
        runs: int = typer.Option(10_000, "--runs", min=1, help="Runs that wait for payment"),
        in_flight: int = typer.Option(
            500, min=1, help="Runs on their way to the payment wait at a time"
        ),
        cache: int = typer.Option(2000, min=1, help="The worker's workflow cache (runs)"),
        timeout: float = typer.Option(
            4 * 3600,
            min=1,
            help="Seconds for all runs to wait for payment; past it the bench reports the "
            "runs that made it and exits 1",
        ),
        hold: float = typer.Option(
            60, min=0, help="Seconds to sample the worker's memory with the runs waiting"
        ),
    ) -> None:
        """Start RUNS runs that are posted, delivered and then all wait for payment on one
        worker; report the worker's memory (target under 1 GB). Progress goes to stderr
        every 30 s."""
        from cli.console import err
        from devstack.bench.payments import run

        result = run(
            runs,
            in_flight=in_flight,
            cache=cache,
            timeout=timeout,
            hold=hold,
            say=lambda message: err.print(f"[dim]{message}[/]", highlight=False),
        )
        cached = "?" if result.cached is None else f"{result.cached:,}"
        Console(soft_wrap=True).print(
            f"{result.started:,} of {result.runs:,} runs started in {result.start_seconds:.1f} s; "
            f"{result.waiting:,} awaiting payment after {result.waiting_seconds:.1f} s "
            f"({result.waiting_per_second:,.2f} runs/s); workflow cache {cached} of "
            f"{result.cache_limit:,}\n"
            f"worker RSS over {hold:.0f} s with {result.waiting:,} runs waiting for payment: "
            f"median [bold]{result.worker_rss_median_mb:.0f} MB[/], "
            f"peak {result.worker_rss_peak_mb:.0f} MB; "
            f"peak over the bench [bold]{result.worker_peak_rss_mb:.0f} MB[/]",
            highlight=False,
        )
        if not result.complete:
            err.print(
                f"[red]only {result.waiting:,} of {result.runs:,} runs reached the payment "
                f"wait within {timeout:.0f} s[/]"
            )
            raise typer.Exit(1)
