"""`q2c queue` lists what the UI lists for `Q2CStatus = "AwaitingApproval"`."""

import asyncio
import io
import json
import os
import subprocess
import sys
import uuid
from datetime import timedelta
from urllib.parse import quote

import pytest
from rich.console import Console
from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from cli.queue import render
from ops.queue import QueueItem, fetch_queue
from schemas.runs import RunState
from schemas.views import VIEWS, View
from tests.conftest import SystemsService
from tests.events import cycle_closed
from tests.own_contracts import OwnContract, copy_contract
from tests.workflows.runs import Handle
from tests.workflows.test_approvals import _policy, _start_for, _worker
from tests.workflows.test_quote_to_cash import Runner
from workflows import search_attributes as sa

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _waiting_run(runner: Runner, systems: SystemsService, month: int) -> tuple[Handle, str]:
    """A run of a copy of C-1009 (a non-standard clause: it waits for approval) of the
    test's own, and the copy's customer id, which the queue must show."""
    own: OwnContract = await copy_contract(systems, "C-1009")
    handle = await _start_for(runner, cycle_closed(own.contract_id, month, year=2027))
    return handle, own.customer_id


async def test_the_queue_shows_age_reasons_due_time_and_who_is_asked(
    dev_server_env: WorkflowEnvironment, systems: SystemsService
) -> None:
    task_queue = f"q2c-{uuid.uuid4()}"
    async with _worker(dev_server_env, systems, _policy(), task_queue) as runner:
        handle, customer_id = await _waiting_run(runner, systems, 12)
        await runner.wait_for(handle, RunState.AWAITING_APPROVAL)
        mine: list[QueueItem] = []
        for _ in range(100):
            items = await fetch_queue(dev_server_env.client)
            mine = [item for item in items if item.workflow_id == handle.id]
            if mine:
                break
            await asyncio.sleep(0.1)
        assert len(mine) == 1, "the run never showed in the visibility list"
        item = mine[0]
        assert item.customer_id == customer_id
        assert item.currency == "USD" and item.total
        assert item.risk_level == "high"
        assert item.reasons[0].startswith("non_standard_clause: Non-standard clause")
        assert item.approvers == ["ar.lead@q2c.example", "billing.ops@q2c.example"]
        assert item.approvals == "0/1"
        assert item.due_at is not None and item.due_at > item.waiting_since
        assert item.age_seconds >= 0

        env = dict(
            os.environ,
            TEMPORAL_ADDRESS=dev_server_env.client.service_client.config.target_host,
            Q2C_UI_URL="http://ui.example:8233",
        )
        # In a thread: this test's own worker, on this event loop, answers the CLI's query.
        listed = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "cli", "queue", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert listed.returncode == 0, f"{listed.returncode}: {listed.stderr[-3000:]}"
        rows = {row["workflow_id"]: row for row in json.loads(listed.stdout)}
        run_id = (await handle.describe()).run_id
        ui = "http://ui.example:8233"
        # Each row links its run's page, on the tab that says what it waits for.
        assert rows[handle.id]["link"] == (
            f"{ui}/namespaces/default/workflows/{quote(handle.id, safe='')}/{run_id}/user-metadata"
        )
        table_run = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "cli", "queue"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert table_run.returncode == 0, table_run.stderr[-3000:]
        # The views' links: the list filtered by each view's query.
        assert (
            f"{ui}/namespaces/default/workflows?query=Q2CStatus+%3D+%22Disputed%22"
            in table_run.stdout
        )
        console = Console(file=io.StringIO(), width=200)
        render(mine, console)
        table = console.file.getvalue()  # type: ignore[attr-defined]
        assert "Awaiting approval: 1" in table and customer_id in table
        assert "ar.lead@q2c.example" in table and "(0/1)" in table
        await handle.signal("reject", {"approver": "cfo@q2c.example", "comment": "test over"})
        assert (await handle.result()).state is RunState.REJECTED


async def test_a_stopped_worker_costs_one_query_timeout_not_one_per_run(
    dev_server_env: WorkflowEnvironment, systems: SystemsService
) -> None:
    task_queue = f"q2c-{uuid.uuid4()}"
    async with _worker(dev_server_env, systems, _policy(), task_queue) as runner:
        started = [await _waiting_run(runner, systems, month) for month in (7, 8, 9)]
        handles = [handle for handle, _ in started]
        for handle in handles:
            await runner.wait_for(handle, RunState.AWAITING_APPROVAL)
    # The worker is gone: the first query on its task queue times out, the rest are not sent.
    ids = {handle.id for handle in handles}
    mine: list[QueueItem] = []
    for _ in range(100):
        items = await fetch_queue(
            dev_server_env.client, query_timeout=timedelta(seconds=1), concurrency=1
        )
        mine = [item for item in items if item.workflow_id in ids]
        if len(mine) == len(ids):
            break
        await asyncio.sleep(0.1)
    notes = sorted(item.note for item in mine)
    assert len(notes) == 3
    assert notes[0].startswith("status not asked: no worker answered on task queue")
    assert task_queue in notes[0] and notes[0] == notes[1]
    assert notes[2].startswith("status unavailable (is a worker running?)")
    customers = {handle.id: customer_id for handle, customer_id in started}
    assert all(
        item.customer_id == customers[item.workflow_id] and item.risk_level == "high"
        for item in mine
    )
    for handle in handles:
        await handle.terminate("test over")


@workflow.defn(name="QueueRowWithBrokenStatus", sandboxed=False)
class _BrokenStatus:
    """Stands for a run whose `status` query fails (a real worker answering with an error):
    no q2c run can be made to fail its query on purpose once its input is bounded."""

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.query(name="status")
    def status(self) -> dict[str, str]:
        raise RuntimeError("the status cannot be read")


async def test_a_run_whose_query_fails_is_a_row_with_the_error_not_a_failed_queue(
    dev_server_env: WorkflowEnvironment,
) -> None:
    client = dev_server_env.client
    task_queue = f"q2c-broken-{uuid.uuid4()}"
    async with Worker(client, task_queue=task_queue, workflows=[_BrokenStatus]):
        handle = await client.start_workflow(
            _BrokenStatus.run,
            id=f"test-queue-broken:{uuid.uuid4()}",
            task_queue=task_queue,
            search_attributes=TypedSearchAttributes(
                [SearchAttributePair(sa.Q2C_STATUS, RunState.AWAITING_APPROVAL.value)]
            ),
        )
        try:
            mine: list[QueueItem] = []
            for _ in range(100):
                mine = [i for i in await fetch_queue(client) if i.workflow_id == handle.id]
                if mine:
                    break
                await asyncio.sleep(0.1)
            assert len(mine) == 1, "the run never showed in the visibility list"
            # The worker's message travels encrypted (the codec encodes failure attributes),
            # and this server keeps no failure to decode it from: the row says so
            # (tests/ops/test_query_failure.py decodes one that is kept).
            encrypted = (
                "Encoded failure (its message travels encrypted and the answer carried none "
                "to decode)"
            )
            assert mine[0].note == f"status query failed: {encrypted}"
            shown = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "cli", "status", handle.id],
                env=dict(os.environ, TEMPORAL_ADDRESS=client.service_client.config.target_host),
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert shown.returncode == 1 and "Traceback" not in shown.stderr, shown.stderr
            assert f"the status query failed: {encrypted}" in " ".join(shown.stderr.split())
        finally:
            await handle.terminate()


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: v.name)
async def test_every_views_query_is_one_the_server_accepts(
    dev_server_env: WorkflowEnvironment, view: View
) -> None:
    # The server parses the query and knows every attribute it names, or refuses it.
    counted = await dev_server_env.client.count_workflows(view.query)
    assert counted.count >= 0
    assert set(view.columns) <= {key.name for key in sa.ALL}
