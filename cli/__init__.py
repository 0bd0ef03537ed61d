"""The `q2c` command line. Each module in this package registers its own commands."""

import atexit
import os
import signal
import sys

import typer
from pydantic import ValidationError

from cli import (
    bench_approvals,
    bench_close,
    bench_documents,
    bench_intake,
    bench_payments,
    bench_rating,
    bench_run,
    calendar,
    chaos,
    collections,
    deploy,
    documents,
    encryption,
    intake,
    preview,
    queue,
    receivables,
    replay,
    report,
    revenue,
    runs,
    stack,
)


def build_app() -> typer.Typer:
    app = typer.Typer(
        no_args_is_help=True,
        add_completion=False,
        help="q2c: quote-to-cash runs on Temporal. `q2c dev` starts everything locally.",
    )
    bench = typer.Typer(
        no_args_is_help=True, help="Benchmarks that print figures.", callback=_unwind_on_sigterm
    )
    app.add_typer(bench, name="bench")
    for module in (
        stack,
        runs,
        collections,
        preview,
        bench_rating,
        replay,
        bench_run,
        report,
        chaos,
        queue,
        receivables,
        bench_approvals,
        bench_payments,
        documents,
        bench_documents,
        intake,
        bench_intake,
        encryption,
        calendar,
        bench_close,
        deploy,
        revenue,
    ):
        module.register(app, bench=bench)
    return app


def _unwind_on_sigterm() -> None:
    """A bench stopped by SIGTERM (`timeout`, a CI runner) unwinds as on Ctrl-C, so the stack
    it started is stopped with it: by default SIGTERM ends the process at once, and the
    stack's processes, each in a session of its own, went on running."""
    signal.signal(signal.SIGTERM, _exit_on_signal)


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _setting_problems(error: ValidationError) -> str:
    """Each problem named by its environment variable: "Q2C_INTAKE_PORT: Input should be…"."""
    problems = []
    for e in error.errors():
        head, *rest = [str(part) for part in e["loc"]] or ["settings"]
        where = f"Q2C_{head.upper()}" + (f" ({'.'.join(rest)})" if rest else "")
        problems.append(f"{where}: {e['msg']}")
    return "; ".join(problems)


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write(f"{code}\n")  # sys.exit("message") prints it and exits 1
    return 1


def main() -> None:
    """Run a command, then leave without the interpreter's final teardown.

    The Temporal client's Rust threads can still call into Python while the interpreter
    finalizes, which aborts the process ("PyGILState_Release ... finalizing", SIGABRT;
    temporalio/sdk-python#300): a `q2c start` that started its run would exit -6. So the exit
    handlers run here (OTel exporters flush, logging shuts down), the streams are flushed,
    and the process ends with the command's own exit code.
    """
    from workers.keys import KeyConfigError

    try:
        build_app()()
        code = 0
    except SystemExit as stop:
        code = _exit_code(stop.code)
    except KeyConfigError as error:  # any command that talks to Temporal needs the keys
        sys.stderr.write(f"error: {error}\n")
        code = 2
    except ValidationError as error:
        if not error.title.endswith("Settings"):
            raise
        sys.stderr.write(f"error: {_setting_problems(error)}\n")  # bad Q2C_* environment
        code = 2
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
