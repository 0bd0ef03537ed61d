"""The collection phase on the time-skipping server (90 days in seconds) against the real
systems service (payment provider, ERP cash, CRM holds) and the outbox SMTP server. Each test
has a time-skipping server of its own, and its own customer, contract and payment methods
(copies of seeded ones, tests/own_contracts.py): the months one skips, the runs it leaves
waiting, the charges it declines and the cash it posts reach no other test."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from billing.routing import RoutingPolicy, load_policy
from schemas.approvals import Decision
from schemas.collection import (
    CollectionAnswer,
    DisputeNotice,
    DisputeResolution,
    PaymentNotice,
    RaiseDispute,
    RecordPayment,
)
from schemas.runs import RunInput, RunState, RunStatus
from tests.conftest import SystemsService, running_systems, start_time_skipping
from tests.events import cycle_closed
from tests.own_contracts import copy_contract
from tests.waiting import eventually
from tests.workflows.runs import Handle, until, worker_on
from workflows.quote_to_cash import QuoteToCashWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")

DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SystemsService]:
    """Systems of this module alone, each test on a contract of its own. Not one per test:
    the service loads its demo data as it starts, 35 to 55 s each on the shared machine (11
    tests: +7 min)."""
    with running_systems(tmp_path_factory.mktemp("collect")) as service:
        yield service


@pytest.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of this test alone (0.7 s to start): the days it skips move
    no other test's clock, and a run a test leaves waiting (a dunning timer, a write-off
    wait) ends with its server, so it never reaches the systems during a later test."""
    started = await start_time_skipping()
    yield started
    await started.shutdown()


def _four_eyes_policy() -> RoutingPolicy:
    """The shipped approver policy, with two approvers needed from 100 USD up."""
    shipped = load_policy()
    approvals = shipped.approvals.model_copy(
        update={"dual_approval_at": {**shipped.approvals.dual_approval_at, "USD": Decimal(100)}}
    )
    return shipped.model_copy(update={"approvals": approvals})


@pytest.fixture
async def queue(env: WorkflowEnvironment, own: SystemsService) -> AsyncIterator[str]:
    task_queue = f"q2c-collect-{uuid.uuid4()}"
    async with worker_on(env, own, task_queue, policy=_four_eyes_policy()):
        yield task_queue


async def _start(env: WorkflowEnvironment, queue: str, contract_id: str, month: int) -> Handle:
    event = cycle_closed(contract_id, month)
    return await env.client.start_workflow(
        QuoteToCashWorkflow.run,
        RunInput(event=event, collect=True),
        id=f"test-collect:{event.business_key}:{uuid.uuid4()}",
        task_queue=queue,
    )


async def _collecting(handle: Handle) -> RunStatus:
    return await until(handle, lambda s: s.collection is not None and s.state.collecting)


async def _get(own: SystemsService, path: str, **params: Any) -> Any:
    async with own.client() as http:
        response = await http.get(path, params=params)
        response.raise_for_status()
        return response.json()


async def _pay(handle: Handle, amount: str, currency: str, reference: str) -> CollectionAnswer:
    notice = PaymentNotice(
        amount=Decimal(amount), currency=currency, reference=reference, value_date=date(2026, 3, 1)
    )
    return await _update(handle, "record_payment", RecordPayment(notice))


async def _update(handle: Handle, name: str, body: Any) -> CollectionAnswer:
    answer: CollectionAnswer = await handle.execute_update(name, body, result_type=CollectionAnswer)
    return answer


async def test_card_declined_twice_then_paid_on_the_third_attempt(
    env: WorkflowEnvironment, queue: str, own: SystemsService
) -> None:
    # A card (a copy of CU-1003's) that declines its next two charges.
    declines = {"decline_next": 2, "decline_code": "insufficient_funds"}
    mine = await copy_contract(own, "C-1003", payment_method=declines)
    handle = await _start(env, queue, mine.contract_id, 1)
    result = await handle.result()
    assert result.state is RunState.PAID, result.reason
    collection = result.collection
    assert collection is not None
    # The policy's card days are 0, 3, 5, 7 after the due date: the third attempt (day 5) pays.
    assert collection.card_attempts == 3
    actions = [e.action for e in collection.timeline]
    assert actions.count("charge_declined") == 2
    assert actions.count("charged") == 1
    charged = [e for e in collection.timeline if e.action == "charged"][0]
    assert (charged.at - collection.due_at) // DAY == 5
    assert collection.paid == result.total and collection.amount_due == 0
    [entry] = collection.entries
    posting = await _get(own, f"/erp/cash-postings/{entry.posting_key}")
    assert posting["posting_key"] == f"{handle.id}:payment:{entry.reference}"
    assert Decimal(posting["applied"]) == result.total
    # The reminder at 1 day past due went out between the declines, by e-mail.
    assert "reminder" in [e.action for e in collection.timeline]


async def test_bank_transfer_partial_then_full_reduces_what_is_due(
    env: WorkflowEnvironment, queue: str, own: SystemsService
) -> None:
    mine = await copy_contract(own, "C-1008")
    handle = await _start(env, queue, mine.contract_id, 2)
    waiting = await _collecting(handle)
    assert waiting.state is RunState.AWAITING_PAYMENT
    total = waiting.total
    assert total is not None and waiting.currency == "USD"
    part = Decimal("10.00")
    first = await _pay(handle, str(part), "USD", f"BANK-{uuid.uuid4().hex[:8]}")
    assert (first.outcome, first.amount_due, first.state) == (
        "applied",
        total - part,
        RunState.PARTIALLY_PAID.value,
    )
    # 5.00 more than the rest: the overpayment stays with the customer, recorded in the ERP.
    rest = total - part + Decimal("5.00")
    second = await _pay(handle, str(rest), "USD", f"BANK-{uuid.uuid4().hex[:8]}")
    assert second.outcome == "applied" and second.amount_due == 0
    result = await handle.result()
    assert result.state is RunState.PAID
    assert result.collection is not None
    assert result.collection.credit_balance == Decimal("5.00")
    items = await _get(own, f"/erp/customers/{mine.customer_id}/open-items")
    assert items["credit_balance"] == {"USD": "5.00"}
    keys = {e.posting_key for e in result.collection.entries}
    for key in keys:
        assert (await _get(own, f"/erp/cash-postings/{key}"))["kind"] == "payment"


async def test_the_same_payment_twice_is_applied_once_and_another_currency_is_refused(
    env: WorkflowEnvironment, queue: str, own: SystemsService
) -> None:
    mine = await copy_contract(own, "C-1007")
    handle = await _start(env, queue, mine.contract_id, 2)
    waiting = await _collecting(handle)
    assert waiting.total is not None
    reference = f"BANK-{uuid.uuid4().hex[:8]}"
    wrong = await _pay(handle, "20.00", "EUR", f"BANK-{uuid.uuid4().hex[:8]}")
    assert wrong.outcome == "refused"
    assert "currency: EUR differs from the invoice's USD" in wrong.detail
    first = await _pay(handle, "20.00", "USD", reference)
    again = await _pay(handle, "20.00", "USD", reference)
    assert (first.outcome, again.outcome) == ("applied", "duplicate")
    assert again.amount_due == waiting.total - Decimal("20.00")
    status = await handle.query(QuoteToCashWorkflow.status)
    assert any("EUR differs" in r.cause for r in status.refused)
    erp = await _get(own, "/erp/cash-postings", customer_id=mine.customer_id)
    assert [p["posting_key"] for p in erp] == [f"{handle.id}:payment:{reference}"]
    await handle.terminate("test done")


async def test_a_signal_with_bad_input_is_refused_and_kept_on_the_run(
    env: WorkflowEnvironment, queue: str, own: SystemsService
) -> None:
    mine = await copy_contract(own, "C-1007")
    handle = await _start(env, queue, mine.contract_id, 3)
    await _collecting(handle)
    await handle.signal("record_payment", {"amount": 12.5, "currency": "USD", "reference": "X"})
    status = await until(handle, lambda s: bool(s.refused))
    assert "amount" in status.refused[-1].cause and "float" in status.refused[-1].cause
    assert status.collection is not None and status.collection.paid == 0
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await _update(handle, "resolve_dispute", DisputeResolution(outcome="upheld"))
    assert "no dispute is open" in str(refused.value.cause)
    await handle.terminate("test done")


async def test_a_payment_or_dispute_before_posting_is_refused(
    env: WorkflowEnvironment, queue: str, own: SystemsService
) -> None:
    # C-1009's terms carry a non-standard clause, so the invoice waits for an approver:
    # nothing is posted, so nothing can be paid.
    mine = await copy_contract(own, "C-1009")
    handle = await _start(env, queue, mine.contract_id, 5)
    await until(handle, lambda s: s.state is RunState.AWAITING_APPROVAL)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await _pay(handle, "10.00", "USD", "BANK-EARLY")
    assert str(refused.value.cause).endswith(
        "the run is AwaitingApproval, not collecting payment: payment.received refused"
    )
    await handle.signal("dispute", {"reason": "too early"})
    status = await until(handle, lambda s: bool(s.refused))
    assert [r.cause for r in status.refused] == [
        "dispute: the run is AwaitingApproval, not collecting payment: dispute.raised refused"
    ]
    assert status.collection is None and status.state is RunState.AWAITING_APPROVAL
    await handle.terminate("test done")


async def test_bad_disputes_and_resolutions_are_refused_and_kept_on_the_run(
    env: WorkflowEnvironment, queue: str, own: SystemsService
) -> None:
    mine = await copy_contract(own, "C-1007")
    handle = await _start(env, queue, mine.contract_id, 4)
    await _collecting(handle)
    # Each signal below breaks one rule of its input; each is kept, none changes the run.
    await handle.signal("record_payment", "twenty dollars")  # not an object
    await handle.signal("dispute", {"reason": ""})  # a dispute names its reason
    await handle.signal("resolve_dispute", {"outcome": "upheld"})  # nothing is disputed
    status = await until(handle, lambda s: len(s.refused) == 3)
    causes = [r.cause for r in status.refused]
    assert causes[0].startswith("record_payment: input: ")
    assert causes[1].startswith("dispute: reason: ")
    assert causes[2] == "resolve_dispute: outcome: no dispute is open on this invoice"
    assert status.refused[0].received == '"twenty dollars"'
    assert status.state is RunState.AWAITING_PAYMENT
    opened = await _update(handle, "dispute", RaiseDispute(DisputeNotice(reason="wrong seats")))
    due = opened.amount_due
    await handle.signal("resolve_dispute", {"outcome": "credited"})  # credits no amount
    too_much = due + Decimal("0.01")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await _update(
            handle, "resolve_dispute", DisputeResolution(outcome="credited", credit_amount=too_much)
        )
    assert str(refused.value.cause).endswith(
        f"credit_amount: {too_much} is more than the {due} USD due"
    )
    status = await until(handle, lambda s: len(s.refused) == 4)
    assert "credit_amount: a credited dispute needs the amount to credit" in status.refused[3].cause
    assert status.state is RunState.DISPUTED
    assert status.collection is not None
    assert (status.collection.credited, status.collection.amount_due) == (Decimal(0), due)
    assert status.document("credit_note") is None
    noted = [e.detail for e in status.collection.timeline if e.action == "refused"]
    assert noted == [r.cause for r in status.refused]
    await handle.terminate("test done")


async def test_dispute_pauses_dunning_then_a_credit_leaves_the_rest_due(
    env: WorkflowEnvironment, queue: str, own: SystemsService
) -> None:
    mine = await copy_contract(own, "C-1004")
    handle = await _start(env, queue, mine.contract_id, 2)
    waiting = await _collecting(handle)
    total = waiting.total
    assert total is not None
    opened = await _update(
        handle, "dispute", RaiseDispute(DisputeNotice(reason="seats not used", by="ar@q2c.example"))
    )
    assert opened.state == RunState.DISPUTED.value
    # 100 days pass: no dunning level fires while the dispute is open.
    await env.sleep(100 * DAY)
    paused = await handle.query(QuoteToCashWorkflow.status)
    assert paused.state is RunState.DISPUTED
    assert paused.collection is not None and paused.collection.fired == []
    credit = (total / 4).quantize(Decimal("0.01"))
    answer = await _update(
        handle,
        "resolve_dispute",
        DisputeResolution(outcome="credited", credit_amount=credit, by="controller@q2c.example"),
    )
    assert answer.amount_due == total - credit
    status = await handle.query(QuoteToCashWorkflow.status)
    note = status.document("credit_note")
    assert note is not None and note.invoice.total == credit
    posted = await _get(own, f"/erp/postings/{note.posting_key}")
    assert posted["erp_document_id"] == note.erp_document_id
    # In the ERP the credit note is applied to the invoice: the invoice shows the rest open,
    # the credit note nothing left to give.
    invoice = status.document("invoice")
    assert invoice is not None
    application = await _get(
        own, f"/erp/cash-postings/{handle.id}:credit-application:{note.erp_document_id}"
    )
    assert (application["document"], Decimal(application["applied"])) == (
        invoice.erp_document_id,
        credit,
    )
    items = await _get(own, f"/erp/customers/{mine.customer_id}/open-items", all="true")
    by_number = {i["erp_document_id"]: i for i in items["items"]}
    assert Decimal(by_number[invoice.erp_document_id]["open_amount"]) == total - credit
    assert Decimal(by_number[note.erp_document_id]["open_amount"]) == 0
    await _pay(handle, str(total - credit), waiting.currency, f"BANK-{uuid.uuid4().hex[:8]}")
    result = await handle.result()
    assert result.state is RunState.PAID
    assert result.collection is not None and result.collection.credited == credit


async def test_write_off_after_ninety_days_needs_two_approvers(
    env: WorkflowEnvironment, queue: str, own: SystemsService
) -> None:
    mine = await copy_contract(own, "C-1008")
    handle = await _start(env, queue, mine.contract_id, 3)
    waiting = await _collecting(handle)
    assert waiting.collection is not None
    # 30 days' terms, then the write-off level at 90 days past due (the approval wait
    # that follows expires after 7 days).
    await env.sleep(122 * DAY)
    asking = await until(handle, lambda s: s.state is RunState.AWAITING_APPROVAL)
    assert asking.approval is not None and asking.approval.approvals_needed == 2
    for approver in ("ar.lead@q2c.example", "billing.ops@q2c.example"):
        await handle.execute_update(
            QuoteToCashWorkflow.decide,
            Decision(verdict="approve", approver=approver, comment="uncollectable"),
        )
    result = await handle.result()
    assert result.state is RunState.WRITTEN_OFF
    assert result.collection is not None
    assert result.collection.written_off == waiting.total
    assert result.collection.account_blocked  # blocked at 30 days, not paid
    [entry] = [e for e in result.collection.entries if e.kind == "write_off"]
    posting = await _get(own, f"/erp/cash-postings/{entry.posting_key}")
    assert posting["kind"] == "write_off" and Decimal(posting["applied"]) == waiting.total
    levels = [e.level for e in result.collection.timeline if e.action == "reminder"]
    assert levels == ["reminder", "second_reminder"]


async def test_a_charge_whose_answer_is_lost_is_charged_once(
    env: WorkflowEnvironment, queue: str, own: SystemsService
) -> None:
    # The provider commits the charge, then the answer is lost (504): the activity retries
    # with the same idempotency key until the answer gets through.
    mine = await copy_contract(own, "C-1001")  # a card that pays
    async with own.client() as http:
        rule = {"system": "payments", "drop_response_rate": 1}
        (await http.put("/admin/faults", json=rule)).raise_for_status()
        handle = await _start(env, queue, mine.contract_id, 2)
        result_task = asyncio.create_task(handle.result())

        async def charged() -> bool:
            intents = await _get(own, "/payments/payment_intents", customer=mine.customer_id)
            return any(i["metadata"].get("run_id") == handle.id for i in intents)

        await eventually(charged, what=f"a payment intent of {handle.id}", within=30)
        (await http.delete("/admin/faults")).raise_for_status()
    result = await result_task
    assert result.state is RunState.PAID
    intents = await _get(own, "/payments/payment_intents", customer=mine.customer_id)
    assert [(i["metadata"].get("run_id"), i["status"]) for i in intents] == [
        (handle.id, "succeeded")
    ]
    assert result.collection is not None and result.collection.card_attempts == 1


def _refund(handle: Handle, payment_id: str, refund_id: str, amount: str, currency: str) -> Any:
    return RecordPayment.model_validate(
        {
            "type": "payment.refunded",
            "schema_version": 2,
            "event_id": f"evt-{refund_id}",
            "occurred_at": "2026-03-05T10:00:00Z",
            "posting_key": handle.id,
            "payment_id": payment_id,
            "refund_id": refund_id,
            "amount": {"amount": amount, "currency": currency},
        }
    )


async def test_a_refund_is_posted_once_and_what_it_gives_back_is_due_again(
    env: WorkflowEnvironment, queue: str, own: SystemsService
) -> None:
    mine = await copy_contract(own, "C-1007")
    handle = await _start(env, queue, mine.contract_id, 6)
    waiting = await _collecting(handle)
    total = waiting.total
    assert total is not None
    currency = waiting.currency
    bank = f"BANK-{uuid.uuid4().hex[:8]}"
    await _pay(handle, "30.00", currency, bank)
    refund_id = f"re_{uuid.uuid4().hex[:8]}"
    # 30.00 paid, 12.50 of it refunded: 12.50 more is due.
    first = await _update(
        handle, "record_payment", _refund(handle, bank, refund_id, "12.50", currency)
    )
    again = await _update(
        handle, "record_payment", _refund(handle, bank, refund_id, "12.50", currency)
    )
    assert (first.outcome, again.outcome) == ("applied", "duplicate")
    assert first.amount_due == total - Decimal("30.00") + Decimal("12.50")
    too_much = await _update(
        handle, "record_payment", _refund(handle, bank, f"{refund_id}-2", "40.00", currency)
    )
    assert too_much.outcome == "refused" and too_much.detail.startswith("amount: the refund")
    posting = await _get(own, f"/erp/cash-postings/{handle.id}:refund:{refund_id}")
    assert (posting["kind"], Decimal(posting["applied"])) == ("refund", Decimal("12.50"))
    erp = await _get(own, "/erp/cash-postings", customer_id=mine.customer_id)
    assert [p["kind"] for p in erp] == [
        "payment",
        "refund",
    ]
    await _pay(handle, str(first.amount_due), currency, f"BANK-{uuid.uuid4().hex[:8]}")
    result = await handle.result()
    assert result.state is RunState.PAID
    assert result.collection is not None and result.collection.paid == total


async def test_a_processing_charge_is_asked_about_again_until_it_settles(
    env: WorkflowEnvironment, queue: str, own: SystemsService
) -> None:
    # A card (a copy of CU-1012's) that answers `processing` and settles 2 s (wall clock)
    # after confirming.
    mine = await copy_contract(own, "C-1012", payment_method={"processing_seconds": 2})
    handle = await _start(env, queue, mine.contract_id, 2)
    waiting = await _collecting(handle)
    assert waiting.collection is not None
    # Past the due date (net 30): attempt 1 answers processing; the run asks again each day.
    await env.sleep(31 * DAY)
    processing = await handle.query(QuoteToCashWorkflow.status)
    assert processing.collection is not None and processing.collection.processing
    await asyncio.sleep(2.5)  # the provider settles the charge
    result = await handle.result()
    assert result.state is RunState.PAID, result.reason
    collection = result.collection
    assert collection is not None
    assert (collection.card_attempts, collection.processing) == (1, "")
    actions = [e.action for e in collection.timeline]
    assert actions.index("charge_processing") < actions.index("charge_settled")
    intents = await _get(own, "/payments/payment_intents", customer=mine.customer_id)
    [intent] = intents
    assert (intent["metadata"].get("run_id"), intent["status"]) == (handle.id, "succeeded")
    [entry] = collection.entries
    assert entry.posting_key == f"{handle.id}:payment:{intent['id']}"


async def test_last_in_the_module_its_clock_is_still_today(env: WorkflowEnvironment) -> None:
    # Earlier tests here skipped 100, 122 and 31 days: on a shared server this clock would
    # be months ahead of the wall clock.
    ahead = await env.get_current_time() - datetime.now(UTC)
    assert abs(ahead) < timedelta(minutes=5), ahead
