"""A run on a versioned worker follows the current build before it waits; an unversioned run
(the embedded default) records nothing of it. Read off recorded histories: the versioned one
was recorded on a worker with Q2C_DEPLOYMENT_NAME and Q2C_BUILD_ID (`q2c histories record
--scenario versioned/approval_approved`); the unversioned ones replay on today's code
(tests/ops/test_replay.py), so the new code adds no command to them."""

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from ops.replay import history_files, load_history, replay
from schemas.runs import RunInput, RunState
from tests.conftest import SystemsService
from tests.events import cycle_closed
from tests.own_contracts import copy_contract
from tests.recorded import event_patch_ids, history_events
from tests.workflows.runs import until, worker_on
from workflows.quote_to_cash import QuoteToCashWorkflow
from workflows.versioning import FOLLOW_CURRENT_BUILD

HISTORIES = Path(__file__).parents[1] / "histories"
VERSIONED = HISTORIES / "versioned" / "approval_approved.json"


def _activity(event: dict[str, Any]) -> str | None:
    scheduled = event.get("activityTaskScheduledEventAttributes")
    return str(scheduled["activityType"]["name"]) if scheduled else None


def test_a_versioned_run_follows_the_current_build_before_its_approval_wait() -> None:
    events = history_events(VERSIONED)
    kinds = [e["eventType"].removeprefix("EVENT_TYPE_") for e in events]
    marker = next(i for i, e in enumerate(events) if FOLLOW_CURRENT_BUILD in event_patch_ids(e))
    follow = next(i for i, e in enumerate(events) if _activity(e) == "follow_current_build")
    options = kinds.index("WORKFLOW_EXECUTION_OPTIONS_UPDATED")
    wait = kinds.index("TIMER_STARTED")  # the approval's deadline
    assert marker < follow < options < wait
    assert [_activity(e) for e in events].count("follow_current_build") == 1
    # Every task it ran was on the versioned worker.
    completed = [
        e["workflowTaskCompletedEventAttributes"]
        for e in events
        if "workflowTaskCompletedEventAttributes" in e
    ]
    assert {c["deploymentVersion"]["buildId"] for c in completed} == {"histories-1"}


@pytest.mark.parametrize(
    "path",
    [p for p in history_files([HISTORIES]) if "versioned" not in p.parts],
    ids=lambda p: str(p.relative_to(HISTORIES)),
)
def test_an_unversioned_run_records_nothing_of_it(path: Path) -> None:
    events = history_events(path)
    assert not any(FOLLOW_CURRENT_BUILD in event_patch_ids(e) for e in events)
    assert "follow_current_build" not in [_activity(e) for e in events]


@pytest.mark.asyncio(loop_scope="session")
async def test_a_run_on_an_unversioned_worker_waits_without_following(
    time_skipping_env: WorkflowEnvironment, systems: SystemsService
) -> None:
    # An unversioned worker still reports a build id (its code's hash), with no deployment.
    queue = f"q2c-unversioned-{uuid.uuid4()}"
    async with worker_on(time_skipping_env, systems, queue):
        event = cycle_closed((await copy_contract(systems, "C-1009")).contract_id, 5)
        handle = await time_skipping_env.client.start_workflow(
            QuoteToCashWorkflow.run,
            RunInput(event=event, collect=False),
            id=f"test:{event.business_key}:{uuid.uuid4()}",
            task_queue=queue,
        )
        try:
            await until(handle, lambda s: s.state is RunState.AWAITING_APPROVAL)
            history = await handle.fetch_history()
        finally:
            # A run left waiting would hold the shared time-skipping server's clock for good.
            await handle.terminate("test over")
    events = [json_format.MessageToDict(e) for e in history.events]
    assert not any(FOLLOW_CURRENT_BUILD in event_patch_ids(e) for e in events)
    assert "follow_current_build" not in [_activity(e) for e in events]
    assert "TIMER_STARTED" in [e["eventType"].removeprefix("EVENT_TYPE_") for e in events]


async def test_the_versioned_history_replays_on_an_unversioned_replayer() -> None:
    [outcome] = await replay([(str(VERSIONED), load_history(VERSIONED))])
    assert outcome.ok, outcome.error


@pytest.mark.asyncio(loop_scope="session")
async def test_a_versioned_run_replays_even_where_its_tasks_carry_no_version() -> None:
    # The recorded marker decides on replay, not the version a replayed activation reports:
    # with every task's version taken out of the history, the run must still take the step it
    # took (a replay that asked the version would skip it and fail on the marker).
    data = json.loads(VERSIONED.read_text())
    for event in data["events"]:
        completed = event.get("workflowTaskCompletedEventAttributes", {})
        for key in ("deploymentVersion", "workerVersion", "workerDeploymentName"):
            completed.pop(key, None)
    stripped = WorkflowHistory.from_json(VERSIONED.stem, data)
    [outcome] = await replay([("versioned, no task versions", stripped)])
    assert (outcome.ok, outcome.error) == (True, None)
