"""Commands that run processes: server, systems, worker, dev, demo."""

import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

if TYPE_CHECKING:
    from devstack.stack import Ports

# Piped output (CI, logs) gets a wide table instead of Rich's 80-column default.
console = Console() if sys.stdout.isatty() else Console(width=160)


def register(app: typer.Typer, *, bench: typer.Typer) -> None:  # noqa: ARG001
    @app.command()
    def server(
        port: int = typer.Option(7233, help="Front-end gRPC port"),
        ui_port: int = typer.Option(8233, help="Web UI port"),
    ) -> None:
        """Run the Temporal dev server (SQLite file under Q2C_HOME, q2c's search attributes)."""
        from devstack.stack import server_argv
        from workers.settings import Settings

        home = Settings().home
        home.mkdir(parents=True, exist_ok=True)
        argv = server_argv(home=home, port=port, ui_port=ui_port)
        os.execv(argv[0], argv)

    @app.command()
    def systems() -> None:
        """Run the embedded systems of record (CRM, usage platform, ERP) over HTTP."""
        os.execv(sys.executable, [sys.executable, "-m", "systems"])

    @app.command()
    def worker() -> None:
        """Run a q2c worker against TEMPORAL_ADDRESS until SIGINT/SIGTERM (then drain)."""
        from workers.settings import Settings
        from workers.worker import run_worker

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        asyncio.run(run_worker(Settings()))

    @app.command()
    def dev(
        workers: int = typer.Option(1, help="Worker processes"),
        temporal_port: int = typer.Option(7233, help="Temporal gRPC port (0: any free port)"),
        ui_port: int = typer.Option(8233, help="Web UI port (0: any free port)"),
        systems_port: int = typer.Option(8400, help="Systems port (0: any free port)"),
        outbox_port: int = typer.Option(8425, help="Outbox SMTP port (0: any free port)"),
        codec_port: int = typer.Option(8235, help="Codec server port (0: any free port)"),
        intake_port: int = typer.Option(8410, help="Event intake port (0: any free port)"),
    ) -> None:
        """Run server, systems and worker together in the foreground; Ctrl-C stops them all.
        A worker that exits is started again (with a growing delay); any other part that
        exits stops the stack with exit code 1. Faults given in Q2C_SYSTEMS_FAULTS are in
        force from the start.
        With payload encryption on (the default) also the codec server the Web UI decodes
        with, and the stack's own key under Q2C_HOME unless keys are configured."""
        from devstack.stack import DevStack, StackError
        from starters.revenue_schedule import SCHEDULE_ID as RECOGNITION_SCHEDULE
        from workers.settings import Settings

        settings = Settings()
        ports = _ports(temporal_port, ui_port, systems_port, outbox_port, codec_port, intake_port)
        stack = DevStack(
            home=settings.home,
            ports=ports,
            encryption=settings.encryption,
            worker_count=workers,
            token=settings.systems_token.get_secret_value(),
            with_intake=True,
        )
        try:
            stack.start()
        except StackError as error:
            console.print(f"[red]dev:[/] {error}")
            raise typer.Exit(1) from None
        key_file = stack.prepare_keys()
        try:
            synced = asyncio.run(stack.sync_calendars())
            calendars = f"{len(synced.plan.calendars)} schedule(s), `q2c calendar list`"
            if synced.plan.skipped:
                calendars += f"; {len(synced.plan.skipped)} contract(s) skipped"
        except Exception as error:  # the stack runs on; billing by hand still works
            calendars = f"not synced ({error})"
        try:
            done = asyncio.run(stack.sync_recognition())
            revenue = f"{done} {RECOGNITION_SCHEDULE}: the 1st, 00:00 {settings.seller_time_zone}"
        except Exception as error:  # `q2c revenue recognise` still works by hand
            revenue = f"not synced ({error})"
        codec = (
            f"{stack.codec_url} (keys: {key_file or 'from Q2C_ENCRYPTION_KEYS'})"
            if stack.encryption
            else "off (Q2C_ENCRYPTION=off): payloads in plaintext"
        )
        console.print(
            f"q2c dev stack up\n  Temporal  {stack.temporal_address}\n  Web UI    {stack.ui_url}"
            f"\n  systems   {stack.systems_url}\n  outbox    smtp://127.0.0.1:{stack.ports.outbox}"
            f" → {settings.home / 'outbox'}\n  intake    {stack.intake_url}/v1/events"
            f"\n  codec     {codec}\n  calendars {calendars}\n  revenue   {revenue}"
            f"\n  logs      {settings.home / 'logs'}\n"
            "Ctrl-C stops everything."
        )
        try:
            dead = stack.run_until_signalled(log=lambda line: console.print(f"dev: {line}"))
            if dead:
                console.print(f"[red]dev:[/] {', '.join(dead)} exited; see {settings.home}/logs")
        finally:
            console.print("stopping…")
            stack.stop()
        if dead:
            raise typer.Exit(1)

    @app.command()
    def demo(
        home: Path | None = typer.Option(None, help="State folder, wiped first (default Q2C_HOME)"),
        timeout: float = typer.Option(180.0, help="Seconds to wait for the runs to settle"),
        temporal_port: int = typer.Option(7233, help="Temporal gRPC port (0: any free port)"),
        ui_port: int = typer.Option(8233, help="Web UI port (0: any free port)"),
        systems_port: int = typer.Option(8400, help="Systems port (0: any free port)"),
        outbox_port: int = typer.Option(8425, help="Outbox SMTP port (0: any free port)"),
        codec_port: int = typer.Option(8235, help="Codec server port (0: any free port)"),
    ) -> None:
        """Start a fresh embedded stack, fire the demo events, and report every run."""
        from devstack.demo import run_demo
        from workers.settings import Settings

        code = run_demo(
            home=home or Settings().home,
            timeout=timeout,
            console=console,
            ports=_ports(temporal_port, ui_port, systems_port, outbox_port, codec_port),
        )
        raise typer.Exit(code)


def _ports(
    temporal: int, ui: int, systems: int, outbox: int, codec: int, intake: int = 8410
) -> "Ports":
    from devstack.stack import Ports, free_port

    return Ports(
        temporal=temporal or free_port(),
        ui=ui or free_port(),
        systems=systems or free_port(),
        outbox=outbox or free_port(),
        codec=codec or free_port(),
        intake=intake or free_port(),
    )
