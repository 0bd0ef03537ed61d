"""`q2c bench approvals`: many runs waiting for approval on one worker, then approved."""

import typer
from rich.console import Console


def register(app: typer.Typer, *, bench: typer.Typer) -> None:  # noqa: ARG001
    @bench.command("approvals")
    def approvals(
        runs: int = typer.Option(10_000, "--runs", min=1, help="Runs that wait for approval"),
        in_flight: int = typer.Option(
            500, min=1, help="Runs on their way to the approval wait at a time"
        ),
        concurrency: int = typer.Option(50, min=1, help="Approvals in flight"),
        cache: int = typer.Option(2000, min=1, help="The worker's workflow cache (runs)"),
        timeout: float = typer.Option(
            4 * 3600, min=1, help="Seconds to wait for all runs to wait, then to post"
        ),
    ) -> None:
        """Start RUNS runs that all wait for approval on one worker, report the worker's
        peak memory, then approve them all and report the throughput. Progress goes to
        stderr every 30 s."""
        from cli.console import err
        from devstack.bench.approvals import run

        result = run(
            runs,
            in_flight=in_flight,
            concurrency=concurrency,
            cache=cache,
            timeout=timeout,
            say=lambda message: err.print(f"[dim]{message}[/]", highlight=False),
        )
        Console(soft_wrap=True).print(
            f"{result.runs} runs started in {result.start_seconds:.1f} s, all awaiting "
            f"approval after {result.waiting_seconds:.1f} s; worker RSS then "
            f"{result.worker_rss_waiting_mb:.0f} MB (workflow cache {result.cached_workflows})\n"
            f"approved in {result.approve_seconds:.1f} s: "
            f"[bold]{result.approvals_per_second:,.0f} approvals/s[/]; all posted and "
            f"reconciled after {result.posted_seconds:.1f} s: "
            f"[bold]{result.posted_per_second:,.0f} runs/s[/]\n"
            f"worker peak RSS: [bold]{result.worker_peak_rss_mb:.0f} MB[/]",
            highlight=False,
        )
