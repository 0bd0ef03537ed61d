"""The workflow against the systems service over HTTP, in the time-skipping environment.
Each run bills a contract of its own test (a copy of a seeded one), so no two tests post
under one ERP key."""

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from schemas.approvals import Decision
from schemas.runs import RunInput, RunState, RunStatus
from tests.conftest import SystemsService
from tests.events import cycle_closed
from tests.own_contracts import copy_contract
from tests.workflows.runs import until, worker_on
from workers.settings import Settings
from workers.worker import build_worker
from workflows.quote_to_cash import QuoteToCashWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")


class Runner:
    def __init__(
        self, env: WorkflowEnvironment, task_queue: str, systems: SystemsService | None = None
    ) -> None:
        self.env = env
        self.task_queue = task_queue
        self.systems = systems

    async def copy(self, seeded: str) -> str:
        """A contract of the test's own, with the terms and customer of `seeded`."""
        assert self.systems is not None
        return (await copy_contract(self.systems, seeded)).contract_id

    async def start(
        self, contract_id: str, month: int, *, approval_timeout: int = 3600
    ) -> WorkflowHandle[QuoteToCashWorkflow, RunStatus]:
        event = cycle_closed(contract_id, month)
        return await self.env.client.start_workflow(
            QuoteToCashWorkflow.run,
            RunInput(event=event, approval_timeout_seconds=approval_timeout, collect=False),
            id=f"test:{event.business_key}:{uuid.uuid4()}",
            task_queue=self.task_queue,
        )

    async def wait_for(
        self, handle: WorkflowHandle[QuoteToCashWorkflow, RunStatus], state: RunState
    ) -> RunStatus:
        return await until(handle, lambda s: s.state is state)


@pytest.fixture
async def runner(
    time_skipping_env: WorkflowEnvironment, systems: SystemsService
) -> AsyncIterator[Runner]:
    task_queue = f"q2c-test-{uuid.uuid4()}"
    async with worker_on(time_skipping_env, systems, task_queue):
        yield Runner(time_skipping_env, task_queue, systems)


async def _erp_posting(systems: SystemsService, posting_key: str) -> dict[str, object] | None:
    async with systems.client() as http:
        response = await http.get(f"/erp/postings/{posting_key}")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        body: dict[str, object] = response.json()
        return body


async def test_straight_through_run_posts_once_and_reconciles(
    runner: Runner, systems: SystemsService
) -> None:
    contract_id = await runner.copy("C-1008")
    handle = await runner.start(contract_id, 1)
    result = await handle.result()
    assert result.state is RunState.DELIVERED, result
    [document] = result.documents
    # The posting key is the business key of January 2026's close (README, "Starting runs").
    assert (document.document_type, document.posting_key) == (
        "invoice",
        f"q2c:{contract_id}:cycle:2026-01-01:2026-02-01",
    )
    assert document.erp_document_id
    posting = await _erp_posting(systems, document.posting_key)
    assert posting is not None
    assert posting["erp_document_id"] == document.erp_document_id
    billed = document.invoice
    assert billed.total == billed.subtotal + billed.tax_total == result.total


async def test_broken_master_data_needs_attention_and_posts_nothing(
    runner: Runner, systems: SystemsService
) -> None:
    handle = await runner.start(await runner.copy("C-1010"), 1)  # CU-1010's invalid VAT id
    result = await handle.result()
    assert result.state is RunState.NEEDS_ATTENTION
    assert result.reason_code == "customer_invalid"
    assert any(p.field == "customer.tax_id" for p in result.problems)
    assert result.documents == []


async def test_unknown_contract_needs_attention(runner: Runner) -> None:
    handle = await runner.start("C-9999", 1)
    result = await handle.result()
    assert result.state is RunState.NEEDS_ATTENTION
    assert result.reason_code == "contract_not_found"


async def test_approval_signal_posts_the_invoice(runner: Runner, systems: SystemsService) -> None:
    handle = await runner.start(await runner.copy("C-1009"), 2)
    waiting = await runner.wait_for(handle, RunState.AWAITING_APPROVAL)
    assert {r.code for r in waiting.route_reasons} >= {"non_standard_clause"}
    await handle.signal("approve", {"approver": "cfo@q2c.example", "comment": "ok"})
    result = await handle.result()
    assert result.state is RunState.DELIVERED
    assert result.decisions[0].approver == "cfo@q2c.example"
    [document] = result.documents
    assert await _erp_posting(systems, document.posting_key) is not None


async def test_reject_signal_posts_nothing(runner: Runner, systems: SystemsService) -> None:
    handle = await runner.start(await runner.copy("C-1009"), 3)
    await runner.wait_for(handle, RunState.AWAITING_APPROVAL)
    await handle.signal("reject", {"approver": "cfo@q2c.example", "comment": "wrong SLA"})
    result = await handle.result()
    assert result.state is RunState.REJECTED
    assert result.reason_code == "rejected"
    [document] = result.documents  # drafted and taxed, never posted
    assert document.erp_document_id == ""
    assert await _erp_posting(systems, document.posting_key) is None


async def test_malformed_and_self_approvals_are_recorded_and_the_run_keeps_waiting(
    runner: Runner,
) -> None:
    handle = await runner.start(await runner.copy("C-1009"), 4)
    await runner.wait_for(handle, RunState.AWAITING_APPROVAL)
    await handle.signal("approve", "not an object")
    await handle.signal("approve", {"comment": "no approver"})
    await handle.signal("approve", {"approver": "ae.smith@q2c.example"})  # the owner
    status = await until(handle, lambda s: len(s.refused) == 3)
    assert status.state is RunState.AWAITING_APPROVAL
    causes = [r.cause for r in status.refused]
    # The SDK's converter reads the JSON string and hands the model a str, not an object.
    assert (
        causes[0]
        == "approve: input: Input should be a valid dictionary or instance of ApprovalInput"
    )
    assert "approver" in causes[1]
    assert "owns this contract" in causes[2]
    await handle.signal("approve", {"approver": "cfo@q2c.example"})
    assert (await handle.result()).state is RunState.DELIVERED


async def test_decide_update_refuses_self_approval_at_once(runner: Runner) -> None:
    handle = await runner.start(await runner.copy("C-1009"), 5)
    await runner.wait_for(handle, RunState.AWAITING_APPROVAL)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            QuoteToCashWorkflow.decide,
            Decision(verdict="approve", approver="ae.smith@q2c.example"),
        )
    assert "owns this contract" in str(refused.value.cause)
    status = await handle.execute_update(
        QuoteToCashWorkflow.decide, Decision(verdict="approve", approver="cfo@q2c.example")
    )
    assert status.decisions[0].verdict == "approve"
    assert (await handle.result()).state is RunState.DELIVERED


async def test_approval_wait_expires_into_needs_attention(runner: Runner) -> None:
    contract_id = await runner.copy("C-1009")
    handle = await runner.start(contract_id, 6, approval_timeout=3 * 24 * 3600)
    await runner.wait_for(handle, RunState.AWAITING_APPROVAL)
    await runner.env.sleep(timedelta(days=4))
    result = await handle.result()
    assert result.state is RunState.NEEDS_ATTENTION
    assert result.reason_code == "approval_expired"


async def test_wrong_token_is_a_configuration_error_not_a_retry_loop(
    time_skipping_env: WorkflowEnvironment, systems: SystemsService
) -> None:
    task_queue = f"q2c-test-{uuid.uuid4()}"
    settings = Settings(task_queue=task_queue, systems_url=systems.url, smtp_url=systems.smtp_url)
    async with systems.client(token="wrong") as http:
        async with build_worker(
            time_skipping_env.client,
            settings=settings,
            http=http,
            delivery_log=systems.delivery_log,
        ):
            result = await Runner(time_skipping_env, task_queue).start("C-1001", 7)
            status = await result.result()
    assert status.state is RunState.NEEDS_ATTENTION
    assert status.reason_code == "configuration"
    assert "Q2C_SYSTEMS_TOKEN" in status.reason
