"""The `q2c` command line. Each module in this package registers its own commands."""

import typer

from workers.cli import (
    bench_approvals,
    bench_rating,
    bench_run,
    chaos,
    preview,
    queue,
    replay,
    report,
    runs,
    stack,
)


def build_app() -> typer.Typer:
    app = typer.Typer(
        no_args_is_help=True,
        add_completion=False,
        help="q2c: quote-to-cash runs on Temporal. `q2c dev` starts everything locally.",
    )
    bench = typer.Typer(no_args_is_help=True, help="Benchmarks that print figures.")
    app.add_typer(bench, name="bench")
    for module in (
        stack,
        runs,
        preview,
        bench_rating,
        replay,
        bench_run,
        report,
        chaos,
        queue,
        bench_approvals,
    ):
        module.register(app, bench=bench)
    return app


def main() -> None:
    build_app()()
