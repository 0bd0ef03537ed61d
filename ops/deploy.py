"""Worker Versioning for an operator: which build takes new runs, and moving runs on.

A versioned worker (Q2C_DEPLOYMENT_NAME, Q2C_BUILD_ID) pins each run to the build that
started it. A deploy starts the new build's workers, makes the build current (or ramps it),
and lets the old build's short runs end where they began. A run about to wait for weeks (for
an approver, a payment, the next dunning level) follows the current build from then on
(workflows/versioning.py). `advance` moves the rest on purpose: runs begun on a build without
that step, or, with `everything`, every open run of an old build that must go. Moved runs
replay on the new build under the `workflow.patched` checks the recorded histories test.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import temporalio.api.workflowservice.v1 as ws
from temporalio.api.enums.v1 import RoutingConfigUpdateState, WorkerDeploymentVersionStatus
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.versioning import auto_upgrade_request
from schemas.runs import RunState

WAITING_STATES = (
    RunState.AWAITING_APPROVAL,
    RunState.AWAITING_PAYMENT,
    RunState.PARTIALLY_PAID,
    RunState.OVERDUE,
    RunState.DISPUTED,
)
"""The states a run may stay in for weeks: between them it waits for a person, a payment or a
timer, with no step half done."""


IN_PROGRESS = RoutingConfigUpdateState.ROUTING_CONFIG_UPDATE_STATE_IN_PROGRESS


class DeployError(RuntimeError):
    """A deployment step Temporal refused or that cannot be done yet; the message says why."""


@dataclass(frozen=True)
class VersionView:
    build_id: str
    status: str
    """current, ramping, draining, drained or inactive (Temporal's version status)."""
    open_runs: int
    """Runs still running on this build (pinned to it, or not yet moved)."""
    waiting_runs: int
    """Of those, the ones waiting in a WAITING_STATES state: what `advance` would move."""


@dataclass(frozen=True)
class DeploymentView:
    name: str
    current: str | None
    ramping: str | None
    ramp_percentage: float
    versions: list[VersionView]


def _version_query(name: str, build_id: str, *, waiting_only: bool) -> str:
    query = f"TemporalWorkerDeploymentVersion = '{name}:{build_id}' AND ExecutionStatus = 'Running'"
    if waiting_only:
        states = ", ".join(f"'{state.value}'" for state in WAITING_STATES)
        query += f" AND Q2CStatus IN ({states})"
    return query


def _status_name(value: int) -> str:
    full = WorkerDeploymentVersionStatus.Name(value)  # type: ignore[arg-type]
    return full.removeprefix("WORKER_DEPLOYMENT_VERSION_STATUS_").lower()


async def describe(client: Client, name: str) -> DeploymentView:
    """The deployment's builds, which one is current or ramping, and the runs on each."""
    try:
        answer = await client.workflow_service.describe_worker_deployment(
            ws.DescribeWorkerDeploymentRequest(namespace=client.namespace, deployment_name=name)
        )
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            raise DeployError(
                f"no worker deployment {name!r} in namespace {client.namespace!r}: "
                "has a worker with Q2C_DEPLOYMENT_NAME polled yet?"
            ) from None
        raise
    info = answer.worker_deployment_info
    routing = info.routing_config
    versions: list[VersionView] = []
    for summary in info.version_summaries:
        build = summary.deployment_version.build_id
        open_runs = await client.count_workflows(_version_query(name, build, waiting_only=False))
        waiting = await client.count_workflows(_version_query(name, build, waiting_only=True))
        versions.append(
            VersionView(
                build_id=build,
                status=_status_name(summary.status),
                open_runs=open_runs.count,
                waiting_runs=waiting.count,
            )
        )
    return DeploymentView(
        name=name,
        current=routing.current_deployment_version.build_id or None,
        ramping=routing.ramping_deployment_version.build_id or None,
        ramp_percentage=routing.ramping_version_percentage,
        versions=versions,
    )


async def _retry_until_polled(
    name: str, build_id: str, step: Callable[[], Awaitable[object]], *, within: float
) -> None:
    """Temporal knows a build once one of its workers has polled: until then it refuses to
    route to it. Retry for `within` seconds, then say so."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            await step()
            return
        except RPCError as error:
            unknown = error.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION)
            if not unknown:
                raise
            if asyncio.get_running_loop().time() >= deadline:
                raise DeployError(
                    f"build {build_id!r} of deployment {name!r} is not ready: {error.message} "
                    "(start its workers first: Temporal knows a build once one has polled)"
                ) from None
            await asyncio.sleep(0.5)


async def _until_routed(client: Client, name: str, *, within: float) -> None:
    """Temporal hands a new routing to its task queues after answering: wait until it says
    every queue has it, so the next task already goes where the routing says."""
    deadline = asyncio.get_running_loop().time() + within
    request = ws.DescribeWorkerDeploymentRequest(namespace=client.namespace, deployment_name=name)
    while True:
        answer = await client.workflow_service.describe_worker_deployment(request)
        if answer.worker_deployment_info.routing_config_update_state != IN_PROGRESS:
            return
        if asyncio.get_running_loop().time() >= deadline:
            raise DeployError(f"deployment {name!r}: the new routing is still being applied")
        await asyncio.sleep(0.2)


async def set_current(client: Client, name: str, build_id: str, *, within: float = 30.0) -> None:
    """New runs, and runs that follow the current build, go to `build_id` from now on."""
    request = ws.SetWorkerDeploymentCurrentVersionRequest(
        namespace=client.namespace, deployment_name=name, build_id=build_id
    )
    await _retry_until_polled(
        name,
        build_id,
        lambda: client.workflow_service.set_worker_deployment_current_version(request),
        within=within,
    )
    await _until_routed(client, name, within=within)


async def ramp(
    client: Client, name: str, build_id: str, percentage: float, *, within: float = 30.0
) -> None:
    """Send `percentage` of new runs to `build_id`, the rest to the current build; an empty
    build id ends the ramp."""
    if not 0 <= percentage <= 100:
        raise DeployError(f"percentage: {percentage} is not between 0 and 100")
    request = ws.SetWorkerDeploymentRampingVersionRequest(
        namespace=client.namespace,
        deployment_name=name,
        build_id=build_id,
        percentage=percentage if build_id else 0,
    )
    await _retry_until_polled(
        name,
        build_id,
        lambda: client.workflow_service.set_worker_deployment_ramping_version(request),
        within=within,
    )
    await _until_routed(client, name, within=within)


async def advance(
    client: Client, name: str, from_build: str, *, everything: bool = False
) -> list[str]:
    """Move the runs of `from_build` that wait (or, with `everything`, all its open runs) to
    the current build: each gets Temporal's auto-upgrade override and runs its next workflow
    task there. Answers the workflow ids moved."""
    view = await describe(client, name)
    if view.current is None:
        raise DeployError(f"deployment {name!r} has no current build: set one first")
    if from_build == view.current:
        raise DeployError(
            f"build {from_build!r} is the current build: its runs have nowhere to move"
        )
    query = _version_query(name, from_build, waiting_only=not everything)
    moved: list[str] = []
    async for run in client.list_workflows(query):
        await client.workflow_service.update_workflow_execution_options(
            auto_upgrade_request(client.namespace, run.id, run.run_id)
        )
        moved.append(run.id)
    return moved
