"""What an activity execution writes, read off its input, result or error (step handoffs
only); and the record_handoff activity the workflow calls for decisions and outcomes."""

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.testing import ActivityEnvironment

from activities.audit import AuditActivities
from schemas.audit import HandoffInput, Outcome, Step
from schemas.customer import Customer
from schemas.runs import Problem
from schemas.steps import Difference, NotifyInput, ReconcileResult, ValidatedCustomer
from tests.billing.builders import contract, fee
from workers.audit.handoffs import Execution, on_failure, on_success
from workers.audit.store import AuditStore

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _execution(step: str, *, attempt: int = 1, last_attempt: bool = False) -> Execution:
    return Execution(
        workflow_id="q2c:C-1:cycle",
        run_id="r1",
        activity_id="5",
        step=step,
        attempt=attempt,
        scheduled_at=T0,
        started_at=T0 + timedelta(seconds=1),
        finished_at=T0 + timedelta(seconds=2),
        last_attempt=last_attempt,
    )


def test_a_transient_failure_is_a_retry_keyed_by_attempt() -> None:
    rows = on_failure(
        _execution("post_invoice", attempt=3), ApplicationError("503", type="transient")
    )
    assert [(r.key, r.outcome, r.reason_code, r.system) for r in rows] == [
        ("q2c:C-1:cycle/5/attempt-3", Outcome.RETRY, "transient", "erp")
    ]


def test_a_transport_error_is_named_by_its_class() -> None:
    rows = on_failure(_execution("fetch_usage"), ConnectionError("refused"))
    assert [(r.outcome, r.reason_code) for r in rows] == [(Outcome.RETRY, "ConnectionError")]


def test_a_permanent_failure_is_the_steps_failure_and_no_outcome() -> None:
    # The workflow turns it into needs-attention and records that outcome itself.
    error = ApplicationError("409", type="posting_conflict", non_retryable=True)
    rows = on_failure(_execution("post_invoice"), error)
    assert [(r.key, r.step, r.outcome, r.reason_code) for r in rows] == [
        ("q2c:C-1:cycle/5/done", "post_invoice", Outcome.FAILURE, "posting_conflict")
    ]


def test_the_last_allowed_attempt_is_a_failure_not_a_retry() -> None:
    rows = on_failure(_execution("notify", attempt=5, last_attempt=True), ApplicationError("502"))
    assert [(r.outcome, r.system) for r in rows] == [(Outcome.FAILURE, "webhook")]


def test_cancellation_is_neither_retry_nor_failure() -> None:
    rows = on_failure(_execution("fetch_usage"), CancelledError("worker shutdown"))
    assert [r.outcome for r in rows] == [Outcome.CANCELLED]
    rows = on_failure(_execution("fetch_usage"), asyncio.CancelledError())
    assert [r.outcome for r in rows] == [Outcome.CANCELLED]


@pytest.mark.parametrize("succeeded", [True, False])
def test_an_expiry_notice_is_only_a_webhook_call(succeeded: bool) -> None:
    notice = NotifyInput(kind="expired", workflow_id="q2c:C-1:cycle", summary="")
    execution = _execution("notify", attempt=5, last_attempt=True)
    if succeeded:
        rows = on_success(execution, [notice], None)
    else:
        rows = on_failure(execution, ApplicationError("502"))
    expected = Outcome.SUCCESS if succeeded else Outcome.FAILURE
    assert [(r.step, r.outcome, r.system) for r in rows] == [("notify", expected, "webhook")]


def test_a_blocked_customer_and_a_reconcile_mismatch_write_no_outcome() -> None:
    validated = ValidatedCustomer(
        contract=contract(fee("10")),
        customer=Customer(id="CU-1", name="Acme", email="ap@acme.test", currency="USD"),
        problems=[Problem(field="customer.tax_id", code="invalid", message="bad")],
    )
    rows = on_success(_execution("validate_customer"), [], validated)
    assert [r.step for r in rows] == ["validate_customer", "received"]
    mismatch = ReconcileResult(
        matched=False, differences=[Difference(field="total", expected="1", found="2")]
    )
    rows = on_success(_execution("reconcile"), [], mismatch)
    assert [(r.step, r.outcome) for r in rows] == [("reconcile", Outcome.SUCCESS)]


def test_a_reminder_notice_is_only_a_webhook_call() -> None:
    notice = NotifyInput(kind="reminder", workflow_id="q2c:C-1:cycle", summary="")
    rows = on_success(_execution("notify"), [notice], None)
    assert [(r.step, r.outcome, r.system) for r in rows] == [("notify", Outcome.SUCCESS, "webhook")]


async def test_record_handoff_writes_each_decision_once(tmp_path: Path) -> None:
    store = AuditStore(url=f"sqlite:///{tmp_path / 'audit.db'}")
    store.create()
    activities = AuditActivities(recorder=store)
    env = ActivityEnvironment()
    first = HandoffInput(
        step=Step.APPROVAL, outcome=Outcome.APPROVED, decided_by="cfo@q2c.example", at=T0
    )
    second = first.model_copy(update={"decided_by": "ceo@q2c.example"})
    for decision in (first, first, second):
        await env.run(activities.record_handoff, decision)
    await env.run(
        activities.record_handoff,
        HandoffInput(step=Step.OUTCOME, outcome=Outcome.REJECTED, reason_code="rejected"),
    )
    await env.run(
        activities.record_handoff, HandoffInput(step=Step.OUTCOME, outcome=Outcome.POSTED)
    )
    rows = store.read()
    assert [(r.step, r.outcome, r.decided_by, r.system) for r in rows] == [
        ("approval", Outcome.APPROVED, "cfo@q2c.example", "approver"),
        ("approval", Outcome.APPROVED, "ceo@q2c.example", "approver"),
        ("outcome", Outcome.REJECTED, "", "q2c"),
    ]
    assert rows[0].finished_at == T0
    store.dispose()


@pytest.mark.parametrize(
    ("source_step", "system"),
    [
        ("validate_customer", "crm"),
        ("post_invoice", "erp"),
        ("reconcile", "erp"),
        ("check_vat", "vies"),
        (Step.APPROVAL, "approver"),
        ("", "q2c"),
        ("an_activity_of_tomorrow", "q2c"),
    ],
)
async def test_an_outcome_names_the_system_its_problem_came_from(
    tmp_path: Path, source_step: str, system: str
) -> None:
    store = AuditStore(url=f"sqlite:///{tmp_path / 'audit.db'}")
    store.create()
    outcome = HandoffInput(
        step=Step.OUTCOME,
        outcome=Outcome.NEEDS_ATTENTION,
        reason_code="some_code",
        detail="x" * 600,
        source_step=source_step,
    )
    await ActivityEnvironment().run(AuditActivities(recorder=store).record_handoff, outcome)
    [row] = store.read()
    assert (row.step, row.system, row.reason_code, len(row.detail)) == (
        "outcome",
        system,
        "some_code",
        500,
    )
    store.dispose()


async def test_a_reset_run_writes_its_decisions_once_and_an_outcome_per_execution(
    tmp_path: Path,
) -> None:
    store = AuditStore(url=f"sqlite:///{tmp_path / 'audit.db'}")
    store.create()
    activities = AuditActivities(recorder=store)
    decision = HandoffInput(
        step=Step.APPROVAL, outcome=Outcome.APPROVED, decided_by="cfo@q2c.example", at=T0
    )
    posted = HandoffInput(step=Step.OUTCOME, outcome=Outcome.POSTED, at=T0)
    for run_id in ("run-1", "run-2"):  # the run, then the run a reset made of it
        env = ActivityEnvironment()
        env.info = dataclasses.replace(
            env.info, workflow_id="q2c:C-1:cycle", workflow_run_id=run_id
        )
        await env.run(activities.record_handoff, decision)
        await env.run(activities.record_handoff, posted)
    rows = store.read()
    assert [(r.key, r.run_id) for r in rows] == [
        ("q2c:C-1:cycle/approval/approved/cfo@q2c.example", "run-1"),
        ("q2c:C-1:cycle/run-1/outcome", "run-1"),
        ("q2c:C-1:cycle/run-2/outcome", "run-2"),
    ]
    store.dispose()


def test_a_cash_posting_row_carries_what_it_applied_and_its_value_date() -> None:
    from datetime import date
    from decimal import Decimal

    from schemas.collection import PlanCollectionInput
    from schemas.payments import CashPostingInput, CashPostingResult

    posting = CashPostingInput(
        run_id="q2c:C-1:cycle", reference="BANK-7", erp_document_id="INV-1",
        amount=Decimal("150.00"), currency="EUR", value_date=date(2026, 11, 5),
    )  # fmt: skip
    # 150.00 received, 120.00 was open: 120.00 applied, 30.00 to the customer's credit.
    result = CashPostingResult(
        posting_key="q2c:C-1:cycle:payment:BANK-7", cash_document_id="CASH-1",
        applied=Decimal("120.00"), to_credit=Decimal("30.00"), open_after=Decimal("0.00"),
        already_posted=False,
    )  # fmt: skip
    [row] = on_success(_execution("post_payment"), [posting], result)
    assert (row.amount, row.currency, row.detail) == ("120.00", "EUR", "value 2026-11-05 BANK-7")
    plan = PlanCollectionInput(due_at=datetime(2026, 12, 2, tzinfo=UTC), currency="EUR")
    [row] = on_success(_execution("plan_collection"), [plan], None)
    assert (row.currency, row.detail) == ("EUR", "due 2026-12-02")


def test_a_dispute_is_recorded_once_per_dispute_of_the_run(tmp_path: Path) -> None:
    store = AuditStore(url=f"sqlite:///{tmp_path / 'audit.db'}")
    store.create()
    activities = AuditActivities(recorder=store)
    env = ActivityEnvironment()
    for occurrence in (1, 1, 2):  # the first one retried
        dispute = HandoffInput(
            step=Step.DISPUTE, outcome=Outcome.DISPUTED, decided_by="ap@customer.example",
            at=T0, detail="wrong seats", occurrence=occurrence,
        )  # fmt: skip
        asyncio.run(env.run(activities.record_handoff, dispute))
    rows = store.read()
    store.dispose()
    assert [(r.step, r.outcome, r.system) for r in rows] == [
        ("dispute", Outcome.DISPUTED, "customer")
    ] * 2
