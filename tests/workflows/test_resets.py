"""Runs reset as an engineer resets them (`temporal workflow reset`), on the dev server at
each phase: nothing is posted, delivered or paid twice, the audit trail and the report
count each run once in its latest outcome, and a run re-rated differently after its
usage changed says which document the ERP already holds."""

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from devstack.resets import reset_run
from ops.report.figures import compute
from schemas.approvals import Decision
from schemas.collection import CollectionAnswer, PaymentNotice, RecordPayment
from schemas.runs import RunInput, RunState, RunStatus
from tests.conftest import SystemsService, own_store, running_systems
from tests.events import cycle_closed
from tests.workflows.runs import Handle, until, worker_on
from workers.audit.store import AuditStore
from workflows.quote_to_cash import QuoteToCashWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")

APPROVER = "ar.lead@q2c.example"
"""An approver of the shipped policy for C-1009's invoice."""


@pytest.fixture
def own(tmp_path: Path) -> Iterator[SystemsService]:
    with running_systems(tmp_path) as service:
        yield service


@pytest.fixture
def audit(tmp_path: Path) -> Iterator[AuditStore]:
    with own_store("sqlite", AuditStore, tmp_path, "q2c_reset") as store:
        yield store


async def _start(
    env: WorkflowEnvironment, queue: str, contract: str, month: int, collect: bool
) -> Handle:
    event = cycle_closed(contract, month)
    return await env.client.start_workflow(
        QuoteToCashWorkflow.run,
        RunInput(event=event, collect=collect),
        id=f"test-reset:{event.business_key}:{uuid.uuid4()}",
        task_queue=queue,
    )


def _current(env: WorkflowEnvironment, handle: Handle) -> Handle:
    """The workflow id's current run, whatever run id a reset gave it."""
    return env.client.get_workflow_handle(handle.id, result_type=RunStatus)


async def _settle(env: WorkflowEnvironment, handle: Handle, *, pay: bool = False) -> RunStatus:
    """The current run's result; a decision or a payment it waits for (again) is given."""
    current = _current(env, handle)
    while True:
        status = await until(
            current,
            lambda s: (
                s.state.settled or s.state is RunState.AWAITING_APPROVAL or s.state.collecting
            ),
        )
        if status.state.settled:
            return await current.result()
        if status.state is RunState.AWAITING_APPROVAL:
            try:
                await current.execute_update(
                    "decide", Decision(verdict="approve", approver=APPROVER), result_type=RunStatus
                )
            except WorkflowUpdateFailedError:
                pass  # decided meanwhile
        elif pay:
            await _pay(current, status)
        await until(current, _moved_from(status.state))


def _moved_from(state: RunState) -> Callable[[RunStatus], bool]:
    return lambda s: s.state is not state


async def _pay(handle: Handle, status: RunStatus) -> None:
    # One bank reference for the run: paying again after a reset is the same payment.
    assert status.total is not None
    notice = PaymentNotice(
        amount=Decimal(status.total),
        currency=status.currency,
        reference=f"BANK-{handle.id[-8:]}",
        value_date=date(2026, 4, 1),
    )
    await handle.execute_update(
        "record_payment", RecordPayment(notice), result_type=CollectionAnswer
    )


async def _get(own: SystemsService, path: str, **params: Any) -> Any:
    async with own.client() as http:
        response = await http.get(path, params=params)
        response.raise_for_status()
        return response.json()


async def _postings(own: SystemsService, contract: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await _get(own, "/erp/postings", contract_id=contract, limit=100)
    return found


async def test_runs_reset_at_each_phase_post_deliver_and_pay_once(
    dev_server_env: WorkflowEnvironment, own: SystemsService, audit: AuditStore
) -> None:
    env = dev_server_env
    queue = f"q2c-reset-{uuid.uuid4()}"
    async with worker_on(env, own, queue, audit=audit):
        # Delivered straight through, then reset to its first workflow task.
        straight = await _start(env, queue, "C-1008", 1, collect=False)
        first = await straight.result()
        assert first.state is RunState.DELIVERED
        await reset_run(env.client, straight.id, to="first")
        again = await _settle(env, straight)
        assert again.state is RunState.DELIVERED
        assert [d.erp_document_id for d in again.documents] == [
            d.erp_document_id for d in first.documents
        ]

        # Reset while it waits for approval (to its last task), then again once delivered.
        approval = await _start(env, queue, "C-1009", 2, collect=False)
        await until(approval, lambda s: s.state is RunState.AWAITING_APPROVAL)
        await reset_run(env.client, approval.id, to="last")
        approved = await _settle(env, approval)
        assert approved.state is RunState.DELIVERED
        await reset_run(env.client, approval.id, to="first")
        assert (await _settle(env, approval)).state is RunState.DELIVERED

        # Reset while it waits for payment (to its last task), paid, then reset to its first.
        paid = await _start(env, queue, "C-1011", 3, collect=True)
        await until(paid, lambda s: s.state.collecting)
        await reset_run(env.client, paid.id, to="last")
        first_paid = await _settle(env, paid, pay=True)
        assert first_paid.state is RunState.PAID
        await reset_run(env.client, paid.id, to="first")
        repaid = await _settle(env, paid, pay=True)
        assert repaid.state is RunState.PAID
        assert repaid.collection is not None

        # Usage grows after posting; the reset run rates more than the ERP holds.
        rerated = await _start(env, queue, "C-1001", 10, collect=False)
        posted = await rerated.result()
        assert posted.state is RunState.DELIVERED
        async with own.client() as http:
            late = {
                "transaction_id": f"late-{uuid.uuid4()}",
                "contract_id": "C-1001",
                "metric": "api_calls",
                "timestamp": datetime(2026, 10, 20, tzinfo=UTC).isoformat(),
                "properties": {"calls": 1000},
            }
            (await http.post("/usage/events", json={"events": [late]})).raise_for_status()
        await reset_run(env.client, rerated.id, to="first")
        conflicted = await _settle(env, rerated)

    assert conflicted.state is RunState.NEEDS_ATTENTION
    assert conflicted.reason_code == "posting_conflict"
    [invoice] = posted.documents
    # 1000 calls more at 0.002 USD (the seeded price of C-1001's API calls) is 2.00 more.
    assert conflicted.reason.startswith(
        f"posted earlier as {invoice.erp_document_id}; re-rated differs"
    )
    assert f"subtotal: re-rated {invoice.invoice.subtotal + Decimal('2.00')}" in conflicted.reason

    # The ERP: one posting per run, as first posted; one payment for the paid run.
    for handle, contract in (
        (straight, "C-1008"),
        (approval, "C-1009"),
        (paid, "C-1011"),
        (rerated, "C-1001"),
    ):
        postings = [
            p for p in await _postings(own, contract) if p["posting_key"].startswith("q2c:")
        ]
        assert len(postings) == 1, (handle.id, postings)
    assert [p["invoice"]["total"] for p in await _postings(own, "C-1001")] == [
        str(invoice.invoice.total)
    ]
    cash = await _get(own, "/erp/customers/CU-1011/open-items")
    assert Decimal(cash["credit_balance"].get("USD", "0")) == 0, "paid once, no overpayment"

    # Delivered once each: one e-mail per document, whatever the resets.
    assert own.outbox is not None
    subjects = [m["Subject"] for m in own.outbox.messages()]
    for run in (first, approved, first_paid, posted):
        [document] = run.documents
        assert sum(document.erp_document_id in s for s in subjects) == 1, subjects

    # The audit trail and the report: four runs, each once, in its latest outcome.
    handoffs = audit.read()
    assert {h.workflow_id for h in handoffs} == {straight.id, approval.id, paid.id, rerated.id}
    report = compute(handoffs, now=datetime.now(UTC))
    assert (report.runs, report.posted, report.needs_attention) == (4, 3, 1)
    assert report.paid == 1 and report.delivered == 2
    assert report.straight_through.count == 2  # C-1008 and C-1011; C-1001 ended in attention
