"""Worker Versioning on the dev server: a deploy from build A to build B keeps a run that is
mid-step on A, takes a run waiting for approval along to B, and both end."""

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from ops import deploy
from schemas.approvals import Decision
from schemas.runs import RunInput, RunState, RunStatus
from tests.conftest import SystemsService, running_systems
from tests.events import cycle_closed
from tests.workflows.runs import until
from workers.settings import Settings
from workers.worker import build_worker
from workflows.quote_to_cash import QuoteToCashWorkflow

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.e2e]

Handle = WorkflowHandle[QuoteToCashWorkflow, RunStatus]


@asynccontextmanager
async def _build(
    client: Client, systems: SystemsService, queue: str, name: str, build_id: str
) -> AsyncIterator[None]:
    """A worker of `build_id`, as Q2C_DEPLOYMENT_NAME and Q2C_BUILD_ID would make it."""
    settings = Settings(
        task_queue=queue,
        systems_url=systems.url,
        smtp_url=systems.smtp_url,
        deployment_name=name,
        build_id=build_id,
    )
    async with systems.client() as http:
        async with build_worker(
            client, settings=settings, http=http, delivery_log=systems.delivery_log
        ):
            yield


async def _start(client: Client, queue: str, contract_id: str, month: int) -> Handle:
    event = cycle_closed(contract_id, month)
    return await client.start_workflow(
        QuoteToCashWorkflow.run,
        RunInput(event=event, collect=False),
        id=f"test:{event.business_key}:{uuid.uuid4()}",
        task_queue=queue,
    )


async def _builds(handle: Handle) -> list[str]:
    """The build that completed each of the run's workflow tasks, in order."""
    return [
        event.workflow_task_completed_event_attributes.deployment_version.build_id
        async for event in handle.fetch_history_events()
        if event.HasField("workflow_task_completed_event_attributes")
    ]


async def _settled(handle: Handle) -> int:
    """The number of workflow tasks completed, once none is scheduled or running: a query can
    see the state a task reached before its completion is in the history."""
    for _ in range(200):
        if not (await handle.describe()).raw_description.HasField("pending_workflow_task"):
            return len(await _builds(handle))
        await asyncio.sleep(0.1)
    raise AssertionError("a workflow task never completed")


async def _retrying(handle: Handle) -> None:
    """Until the run's current activity has failed at least once (the ERP answers 503)."""
    for _ in range(200):
        pending = (await handle.describe()).raw_description.pending_activities
        if any(activity.attempt >= 2 for activity in pending):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the run never retried an activity")


async def _following(handle: Handle) -> bool:
    """The run asked Temporal to send its next tasks to the current build (auto-upgrade)."""
    info = (await handle.describe()).raw_description.workflow_execution_info.versioning_info
    return info.versioning_override.auto_upgrade


async def _listed(client: Client, query: str, workflow_id: str) -> None:
    """Until visibility lists the run (its index trails the run a little)."""
    for _ in range(50):
        if workflow_id in [run.id async for run in client.list_workflows(query)]:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{workflow_id} never listed for {query}")


async def test_a_deploy_keeps_runs_mid_step_on_their_build_and_takes_waiting_runs_along(
    dev_server_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    client = dev_server_env.client
    name = f"q2c-test-{uuid.uuid4().hex[:8]}"
    queue = f"q2c-deploy-{uuid.uuid4()}"
    with running_systems(tmp_path) as systems:
        async with systems.client() as admin, _build(client, systems, queue, name, "A"):
            await deploy.set_current(client, name, "A")
            # C-1009 carries a non-standard clause: it waits for an approver, and before it
            # waits it stops being pinned.
            waiting = await _start(client, queue, "C-1009", 3)
            await until(waiting, lambda s: s.state is RunState.AWAITING_APPROVAL)
            assert await _following(waiting)
            # C-1001 goes straight through, but the ERP is down: it is caught mid-step.
            fault = {"system": "erp", "unavailable_rate": 1, "retry_after_seconds": 1}
            (await admin.put("/admin/faults", json=fault)).raise_for_status()
            short = await _start(client, queue, "C-1001", 3)
            await _retrying(short)
            assert not await _following(short)

            before = {handle.id: await _settled(handle) for handle in (short, waiting)}
            async with _build(client, systems, queue, name, "B"):
                await deploy.set_current(client, name, "B")
                view = await deploy.describe(client, name)
                assert view.current == "B"
                assert {v.build_id: v.status for v in view.versions}["A"] == "draining"

                (await admin.delete("/admin/faults")).raise_for_status()
                await waiting.execute_update(
                    QuoteToCashWorkflow.decide,
                    Decision(verdict="approve", approver="cfo@q2c.example", comment="ok"),
                )
                assert (await short.result()).state is RunState.DELIVERED
                assert (await waiting.result()).state is RunState.DELIVERED
                fresh = await _start(client, queue, "C-1002", 3)
                assert (await fresh.result()).state is RunState.DELIVERED

            short_builds = await _builds(short)
            waiting_builds = await _builds(waiting)
            # The run caught mid-step finished on the build it began on...
            assert len(short_builds) > before[short.id] and set(short_builds) == {"A"}
            # ...the waiting run began on A and took its decision on B...
            assert set(waiting_builds[: before[waiting.id]]) == {"A"}
            assert waiting_builds[before[waiting.id] :]
            assert set(waiting_builds[before[waiting.id] :]) == {"B"}
            # ...and a run started after the deploy ran on B alone.
            assert set(await _builds(fresh)) == {"B"}


async def test_advance_moves_an_old_builds_runs_to_the_current_build(
    dev_server_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    client = dev_server_env.client
    name = f"q2c-test-{uuid.uuid4().hex[:8]}"
    queue = f"q2c-deploy-{uuid.uuid4()}"
    with running_systems(tmp_path) as systems:
        async with systems.client() as admin, _build(client, systems, queue, name, "A"):
            await deploy.set_current(client, name, "A")
            fault = {"system": "erp", "unavailable_rate": 1, "retry_after_seconds": 1}
            (await admin.put("/admin/faults", json=fault)).raise_for_status()
            stuck = await _start(client, queue, "C-1001", 4)
            await _retrying(stuck)
            async with _build(client, systems, queue, name, "B"):
                await deploy.set_current(client, name, "B")
                version = f"TemporalWorkerDeploymentVersion = '{name}:A'"
                await _listed(client, version, stuck.id)
                # Not waiting for anyone: only --all moves it, at once (Temporal schedules a
                # workflow task on the current build for it).
                before = await _settled(stuck)
                assert await deploy.advance(client, name, "A") == []
                assert await deploy.advance(client, name, "A", everything=True) == [stuck.id]
                (await admin.delete("/admin/faults")).raise_for_status()
                assert (await stuck.result()).state is RunState.DELIVERED
            builds = await _builds(stuck)
            assert set(builds[:before]) == {"A"} and set(builds[before:]) == {"B"}


async def test_a_ramp_sends_a_share_of_new_runs_and_ends(
    dev_server_env: WorkflowEnvironment, systems: SystemsService
) -> None:
    # No run starts here: the session's systems serve, untouched.
    client = dev_server_env.client
    name = f"q2c-test-{uuid.uuid4().hex[:8]}"
    queue = f"q2c-deploy-{uuid.uuid4()}"
    async with (
        _build(client, systems, queue, name, "A"),
        _build(client, systems, queue, name, "B"),
    ):
        await deploy.set_current(client, name, "A")
        await deploy.ramp(client, name, "B", 25)
        view = await deploy.describe(client, name)
        assert (view.current, view.ramping, view.ramp_percentage) == ("A", "B", 25)
        env = {**os.environ, "TEMPORAL_ADDRESS": client.service_client.config.target_host}
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "cli", "deploy", "status", "--name", name],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        assert done.returncode == 0, done.stderr
        assert f"{name}: current A, ramping B at 25%" in " ".join(done.stdout.split())
        await deploy.ramp(client, name, "", 0)
        view = await deploy.describe(client, name)
        assert (view.current, view.ramping) == ("A", None)


async def test_advance_refuses_the_current_build_and_an_unknown_deployment(
    dev_server_env: WorkflowEnvironment, systems: SystemsService
) -> None:
    # No run starts here: the session's systems serve, untouched.
    client = dev_server_env.client
    name = f"q2c-test-{uuid.uuid4().hex[:8]}"
    with pytest.raises(deploy.DeployError, match=f"no worker deployment '{name}'"):
        await deploy.describe(client, name)
    async with _build(client, systems, f"q2c-deploy-{uuid.uuid4()}", name, "A"):
        await deploy.set_current(client, name, "A")
        with pytest.raises(deploy.DeployError, match="'A' is the current build"):
            await deploy.advance(client, name, "A")
        with pytest.raises(deploy.DeployError, match="percentage: 150"):
            await deploy.ramp(client, name, "A", 150)
    with pytest.raises(deploy.DeployError, match="'Z' of deployment .* is not ready"):
        await deploy.set_current(client, name, "Z", within=1)
