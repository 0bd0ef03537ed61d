"""Chaos's replay check: a history today's code cannot replay is found, named and kept."""

import time
import uuid
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from temporalio import activity, workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from devstack.chaos_replay import histories_not_replayed, outline
from ops.replay import load_history, replay
from workers.client import data_converter

SCHEDULES_AN_ACTIVITY = {"now": True}
"""What the workflow below does: flipped after its run, its code no longer matches."""


@activity.defn(name="chaos-replay-noop")
async def noop() -> None:
    return None


@workflow.defn(name="ChaosReplayFlip", sandboxed=False)
class Flip:
    @workflow.run
    async def run(self) -> None:
        if SCHEDULES_AN_ACTIVITY["now"]:
            await workflow.execute_activity(noop, start_to_close_timeout=timedelta(seconds=10))
        else:
            await workflow.sleep(timedelta(milliseconds=1))


@pytest.mark.e2e
async def test_a_history_the_code_no_longer_replays_is_found_and_kept(
    dev_server_env: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = dev_server_env.client
    queue = f"chaos-replay-{uuid.uuid4()}"
    async with Worker(client, task_queue=queue, workflows=[Flip], activities=[noop]):
        for number in range(2):
            await client.execute_workflow(Flip.run, id=f"{queue}-{number}", task_queue=queue)
    folder = tmp_path / "not-replayed"

    count, failed = await histories_not_replayed(
        client, task_queue=queue, folder=folder, converter=data_converter(), workflows=[Flip]
    )
    assert (count, failed) == (2, [])
    assert not folder.exists()

    monkeypatch.setitem(SCHEDULES_AN_ACTIVITY, "now", False)
    count, failed = await histories_not_replayed(
        client, task_queue=queue, folder=folder, converter=data_converter(), workflows=[Flip]
    )
    assert count == 2
    assert sorted(f.workflow_id for f in failed) == [f"{queue}-0", f"{queue}-1"]
    for failure in failed:
        # The event the code parts from the history at: the activity the run scheduled (5).
        assert failure.detail.startswith("event 5: ") and "Nondeterminism" in failure.detail
        assert failure.kept.parent == folder and failure.run_id in failure.kept.name
        [outcome] = await replay(
            [(str(failure.kept), load_history(failure.kept))],
            workflows=[Flip],
            converter=data_converter(),
        )
        assert not outcome.ok and outcome.event_id == 5
        lines = outline(load_history(failure.kept))
        assert lines[0] == "1 WORKFLOW_EXECUTION_STARTED"
        assert lines[4] == "5 ACTIVITY_TASK_SCHEDULED chaos-replay-noop"
        assert lines[-1] == f"{len(lines)} WORKFLOW_EXECUTION_COMPLETED"


@workflow.defn(name="ChaosReplayUnanswering", sandboxed=False)
class Unanswering:
    """A run whose status query fails in the workflow code, as a history that no longer
    replays makes it fail."""

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.query(name="status")
    def status(self) -> None:
        raise RuntimeError("the code parts from the history here")


@pytest.mark.e2e
async def test_chaos_leaves_a_run_whose_query_fails_unsettled_without_asking_again(
    dev_server_env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    from devstack import chaos

    async def asked_again(_: float) -> None:
        raise AssertionError("a failing query was asked again")

    client = dev_server_env.client
    queue = f"chaos-unanswering-{uuid.uuid4()}"
    async with Worker(client, task_queue=queue, workflows=[Unanswering]):
        handle = await client.start_workflow(Unanswering.run, id=queue, task_queue=queue)
        # Only chaos's own waits: the worker and the client keep the real asyncio.
        monkeypatch.setattr(chaos, "asyncio", SimpleNamespace(sleep=asked_again))
        try:
            # Before, the error ended the whole drill without a report.
            assert await chaos._result(client, queue, time.monotonic() + 60) is None
        finally:
            await handle.terminate()
