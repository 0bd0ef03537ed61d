"""`q2c deploy`: Worker Versioning steps for a deploy (docs/deploy.md, "Upgrading with runs in
flight")."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from cli.console import err

if TYPE_CHECKING:
    from temporalio.client import Client

    from ops.deploy import DeploymentView

T = TypeVar("T")

NAME_HELP = "The worker deployment (default Q2C_DEPLOYMENT_NAME)"


def _name(given: str | None) -> str:
    from workers.settings import Settings

    name = given or Settings().deployment_name
    if not name:
        err.print("[red]error:[/] --name: no deployment named, and Q2C_DEPLOYMENT_NAME is unset")
        raise typer.Exit(2)
    return name


def _run(step: "Callable[[Client], Awaitable[T]]") -> T:
    from temporalio.service import RPCError

    from ops.deploy import DeployError
    from workers.client import connect

    async def _go() -> T:
        return await step(await connect())

    try:
        return asyncio.run(_go())
    except DeployError as error:
        err.print(f"[red]error:[/] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except RPCError as error:
        err.print(f"[red]error:[/] Temporal refused: {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def render(view: "DeploymentView", console: Console) -> None:
    ramp = f", ramping {view.ramping} at {view.ramp_percentage:g}%" if view.ramping else ""
    table = Table(title=f"{view.name}: current {view.current or 'none'}{ramp}")
    for column in ("build", "status", "open runs", "waiting runs"):
        table.add_column(column)
    for version in view.versions:
        table.add_row(
            version.build_id, version.status, str(version.open_runs), str(version.waiting_runs)
        )
    console.print(table)


def register(app: typer.Typer, *, bench: typer.Typer) -> None:  # noqa: ARG001
    group = typer.Typer(
        no_args_is_help=True,
        help="Worker Versioning: make a build current, ramp it, move waiting runs to it.",
    )
    app.add_typer(group, name="deploy")

    @group.command()
    def status(name: str | None = typer.Option(None, "--name", help=NAME_HELP)) -> None:
        """Each build of the deployment: its status and the runs still open on it."""
        from ops import deploy

        deployment = _name(name)
        render(_run(lambda client: deploy.describe(client, deployment)), Console())

    @group.command("set-current")
    def set_current(
        build_id: str = typer.Argument(..., help="The build that takes new runs"),
        name: str | None = typer.Option(None, "--name", help=NAME_HELP),
        wait: float = typer.Option(30.0, help="Seconds to wait for the build's workers to poll"),
    ) -> None:
        """Send new runs to BUILD_ID; runs already started stay on their build."""
        from ops import deploy

        deployment = _name(name)
        _run(lambda client: deploy.set_current(client, deployment, build_id, within=wait))
        typer.echo(f"{deployment}: new runs go to build {build_id}")

    @group.command()
    def ramp(
        build_id: str = typer.Argument(..., help="The build to try ('' ends the ramp)"),
        percentage: float = typer.Argument(..., help="Share of new runs, 0 to 100"),
        name: str | None = typer.Option(None, "--name", help=NAME_HELP),
        wait: float = typer.Option(30.0, help="Seconds to wait for the build's workers to poll"),
    ) -> None:
        """Send PERCENTAGE of new runs to BUILD_ID, the rest to the current build."""
        from ops import deploy

        deployment = _name(name)
        _run(lambda client: deploy.ramp(client, deployment, build_id, percentage, within=wait))
        typer.echo(f"{deployment}: {percentage:g}% of new runs go to build {build_id}")

    @group.command()
    def advance(
        from_build: str = typer.Argument(..., help="The old build whose runs move"),
        name: str | None = typer.Option(None, "--name", help=NAME_HELP),
        everything: bool = typer.Option(
            False, "--all", help="Every open run of the build, not only those that wait"
        ),
    ) -> None:
        """Move FROM_BUILD's waiting runs (approval, payment, dunning) to the current build."""
        from ops import deploy

        deployment = _name(name)
        moved = _run(
            lambda client: deploy.advance(client, deployment, from_build, everything=everything)
        )
        for workflow_id in moved:
            typer.echo(workflow_id)
        typer.echo(f"{len(moved)} run(s) of build {from_build} move to the current build")
