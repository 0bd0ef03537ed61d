"""`q2c bench intake`."""

import asyncio
import json
import sys

import typer

from cli.console import err


def register(app: typer.Typer, *, bench: typer.Typer) -> None:  # noqa: ARG001
    @bench.command("intake")
    def intake(
        events: int = typer.Option(1000, help="Distinct events (one run each)"),
        duplicates: int = typer.Option(100, help="Redeliveries of some of them: start nothing"),
        concurrency: int = typer.Option(32, help="Requests in flight at once"),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Post signed events to a local intake; accepted/s, p50/p99 to 202, time to start."""
        from devstack.bench.intake import BenchError, run_intake_bench

        def say(line: str) -> None:
            err.print(line, highlight=False)

        try:
            figures = asyncio.run(
                run_intake_bench(
                    events=events, duplicates=duplicates, concurrency=concurrency, say=say
                )
            )
        except BenchError as error:
            err.print(f"[red]bench intake:[/] {error}", highlight=False)
            raise typer.Exit(1) from None
        if as_json:
            sys.stdout.write(json.dumps(figures.as_json(), indent=2) + "\n")
            return
        sys.stdout.write(
            f"intake: {figures.accepted} requests accepted in {figures.seconds_to_accept} s "
            f"({figures.accepted_per_second}/s), 202 p50 {figures.p50_ms} ms, "
            f"p99 {figures.p99_ms} ms; all {figures.events} runs started after "
            f"{figures.seconds_until_all_started} s; {figures.duplicates} redeliveries "
            f"started nothing ({figures.runs} runs)\n"
        )
