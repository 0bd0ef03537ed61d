"""The collection phase: from a posted invoice to cash, on durable timers.

The invoice falls due `payment_terms_days` after the day it was posted. An `auto_collect`
customer is charged on the dunning policy's card schedule; a `bank_transfer` customer's
payment is reported (`record_payment`). Past due, the policy's levels fire once each, in
order, on timers; a dispute pauses them and its resolution resumes them where they were.
Payments, disputes and resolutions arrive by signal (typed by a person in the UI: taken
loosely, refused visibly) or by update (the CLI, the intake); each goes into an inbox that
the phase works through between its timers, so one coroutine alone changes the run.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    import workflows.search_attributes as sa
    from activities.accounts import AccountActivities
    from activities.cash import CashActivities
    from activities.collection import CollectionActivities
    from activities.documents import DocumentActivities
    from activities.erp import ErpActivities
    from activities.payments import PaymentActivities
    from activities.routing import RoutingActivities
    from schemas.audit import HandoffInput, Outcome, Step
    from schemas.bounded import KEPT_REFUSALS, cut
    from schemas.collection import (
        AnswerOutcome,
        CashEntry,
        CollectionAnswer,
        CollectionPlan,
        CollectionProgress,
        DisputeCreditInput,
        DisputeNotice,
        DisputeResolution,
        OpenDispute,
        PaymentNotice,
        PlanCollectionInput,
        PlannedLevel,
        TimelineEntry,
        WriteOffApprovalInput,
    )
    from schemas.contract import Contract
    from schemas.customer import Customer
    from schemas.delivery import DeliverDocumentInput, Purpose
    from schemas.errors import ReasonCode
    from schemas.payment_events import (
        DisputeClosed,
        DisputeOpened,
        PaymentFailed,
        PaymentRefunded,
        PaymentSucceeded,
    )
    from schemas.payments import (
        AccountHoldInput,
        CashKind,
        CashPostingInput,
        ChargeInput,
        FetchChargeInput,
        ReadCashPostingInput,
    )
    from schemas.runs import RunDocument, RunState
    from schemas.steps import NotifyInput, PostInvoiceInput, ReconcileInput
    from workflows.approval import ApprovalWait
    from workflows.calls import CALL_TIMEOUT, RETRY, NeedsAttention, call, record
    from workflows.run_view import RunView
    from workflows.signals import read_signal, received, refuse

RECORD_PAYMENT = "record_payment"
DISPUTE = "dispute"
RESOLVE_DISPUTE = "resolve_dispute"
"""The run's signal and update names (the intake sends the first two)."""
DISPUTE_AUDIT = "dispute-audit"
"""Patch id: each dispute opened is recorded in the audit trail (the report's dispute rate);
runs that opened one before it recorded nothing there."""
CHARGE_POLLING = "charge-polling"
"""Patch id: a charge the provider answers `processing` is asked about again every
`PROCESSING_RECHECK` until it succeeds (applied) or fails (declined), and no further attempt
is charged meanwhile; before it, such a charge waited for the provider's event."""
COLLECTION_REFUNDS = "collection-refunds"
"""Patch id: a `payment.refunded` event is posted to the ERP against the invoice, once
(key `<run id>:refund:<refund id>`), and what it refunds is due again; before it, it was noted."""
DISPUTE_CREDIT_APPLIED = "dispute-credit-applied"
"""Patch id: a dispute's credit note is applied to the invoice in the ERP (a credit
application, key `<run id>:credit-application:<credit note number>`), so the ERP's open items
show the invoice reduced and the credit note spent; before it, both stayed open."""
PROCESSING_RECHECK = timedelta(days=1)
ZERO = Decimal(0)
BEST_EFFORT = RetryPolicy(maximum_attempts=5, initial_interval=timedelta(seconds=2))

RECORD_PAYMENT_HELP = (
    "Record a payment received for this invoice. Input: "
    '{"amount": "100.00", "currency": "USD", "reference": "bank reference", '
    '"value_date": "2026-03-01", "by": "you@company.com"}'
)
DISPUTE_HELP = 'Open a dispute: dunning pauses. Input: {"reason": "why", "by": "you@company.com"}'
RESOLVE_HELP = (
    'End the dispute. Input: {"outcome": "upheld"} (dunning resumes) or {"outcome": '
    '"credited", "credit_amount": "40.00"} (a credit note; the rest stays due), with "by"'
)

PaymentInput = PaymentNotice | PaymentSucceeded | PaymentFailed | PaymentRefunded
DisputeInput = DisputeNotice | DisputeOpened | DisputeClosed


@dataclass
class _Item:
    """One payment, dispute or resolution waiting for the phase to work on it."""

    number: int
    body: PaymentInput | DisputeInput | DisputeResolution


class CollectionWait:
    """One run's collection: its plan, where it stands, and its inbox."""

    def __init__(self, view: RunView, approval: ApprovalWait) -> None:
        self._view = view
        self._status = view.status
        self._approval = approval
        self._inbox: list[_Item] = []
        self._answers: dict[int, CollectionAnswer] = {}
        self._received = 0
        self._plan: CollectionPlan | None = None
        self._customer: Customer | None = None
        self._contract: Contract | None = None
        self._shown_due: Decimal | None = None

    @property
    def progress(self) -> CollectionProgress:
        assert self._status.collection is not None
        return self._status.collection

    # The phase ----------------------------------------------------------------------------

    async def collect(self, customer: Customer, contract: Contract) -> RunState:
        """Until the invoice is paid (or written off); the state the run ends in."""
        self._customer, self._contract = customer, contract
        document = self._status.document("invoice")
        posted = workflow.now()
        if document is None:
            return self._credit_only(posted, customer)
        invoice = document.invoice
        # Terms run from the day the run posted the invoice, on the run's clock: the
        # clock its timers keep.
        due_at = datetime.combine(
            posted.date() + timedelta(days=contract.payment_terms_days), time(), tzinfo=UTC
        )
        self._plan = await self._call(
            CollectionActivities.plan_collection,
            PlanCollectionInput(due_at=due_at, currency=invoice.currency),
        )
        self._status.collection = CollectionProgress(
            payment_method=customer.payment_method,
            dunning_excluded=customer.dunning_excluded,
            policy_version=self._plan.policy_version,
            posted_on=document.issue_date or posted.date(),
            due_at=due_at,
            currency=invoice.currency,
            total=invoice.total,
            amount_due=invoice.total,
        )
        self._view.upsert(sa.DUE_AT.value_set(due_at))
        self._show()
        self._note(
            "collecting",
            detail=f"due {due_at.date()}, {customer.payment_method}, "
            f"policy {self._plan.policy_version}",
        )
        while True:
            await self._drain()
            progress = self.progress
            if progress.amount_due <= 0:
                return await self._paid()
            now = workflow.now()
            if progress.processing and progress.recheck_at and progress.recheck_at <= now:
                await self._recheck()
                continue
            if progress.dispute is None:
                if self._card_due(now):
                    await self._charge()
                    continue
                level = next(
                    (
                        lv
                        for lv in self._plan.levels
                        if lv.name not in progress.fired and lv.at <= now
                    ),
                    None,
                )
                if level is not None:
                    if await self._fire(level):
                        return RunState.WRITTEN_OFF
                    continue
            self._show()
            wake = self._next_wake(now)
            self._view.flush()
            try:
                await workflow.wait_condition(
                    lambda: bool(self._inbox), timeout=None if wake is None else wake - now
                )
            except TimeoutError:
                pass

    def _credit_only(self, posted: datetime, customer: Customer) -> RunState:
        """A credit note alone (a termination): nothing to collect; what it credits stays
        with the customer as a credit balance in the ERP, against which the customer's next
        invoices are settled."""
        document = self._status.document("credit_note")
        assert document is not None
        credit = document.invoice
        self._status.collection = CollectionProgress(
            payment_method=customer.payment_method,
            posted_on=posted.date(),
            due_at=posted,
            currency=credit.currency,
            total=credit.total,
            amount_due=ZERO,
            credit_balance=credit.total,
        )
        self._note(
            "credit_balance",
            detail=f"{credit.total} {credit.currency} credited to the customer's balance "
            f"by {document.erp_document_id}",
        )
        self._view.upsert(sa.AMOUNT_DUE.value_set(0.0))
        return RunState.REFUNDED

    async def _paid(self) -> RunState:
        progress = self.progress
        if progress.account_blocked:
            await self._call(
                AccountActivities.unblock_account,
                AccountHoldInput(
                    customer_id=self._status.customer_id,
                    run_id=workflow.info().workflow_id,
                    reason="paid",
                ),
            )
            progress.account_blocked = False
        progress.level = ""
        self._view.upsert(sa.AMOUNT_DUE.value_set(0.0))
        self._view.upsert(sa.DUNNING_LEVEL.value_unset())
        self._note("paid", detail=self._paid_detail())
        return RunState.PAID

    def _paid_detail(self) -> str:
        progress = self.progress
        parts = [f"{progress.paid} {progress.currency} paid"]
        if progress.credited:
            parts.append(f"{progress.credited} credited")
        if progress.credit_balance:
            parts.append(f"{progress.credit_balance} kept as the customer's credit balance")
        return ", ".join(parts)

    # What the phase shows ------------------------------------------------------------------

    def _state_now(self) -> RunState:
        progress = self.progress
        if progress.dispute is not None:
            return RunState.DISPUTED
        if workflow.now() >= progress.due_at:
            return RunState.OVERDUE
        if progress.paid > 0 or progress.credited > 0:
            return RunState.PARTIALLY_PAID
        return RunState.AWAITING_PAYMENT

    def _show(self) -> None:
        state = self._state_now()
        if state is not self._status.state:
            self._view.set_state(state)
        else:
            self._view.refresh_details()
        if self.progress.amount_due != self._shown_due:
            self._shown_due = self.progress.amount_due
            self._view.upsert(sa.AMOUNT_DUE.value_set(float(self.progress.amount_due)))

    def _note(self, action: str, *, level: str = "", detail: str = "") -> None:
        self.progress.timeline.append(
            TimelineEntry(
                at=workflow.now(),
                state=self._status.state.value,
                level=level or self.progress.level,
                action=action,
                detail=detail,
            )
        )
        self._view.refresh_details()

    def _next_wake(self, now: datetime) -> datetime | None:
        assert self._plan is not None
        progress = self.progress
        moments = [progress.due_at]
        if progress.processing and progress.recheck_at is not None:
            moments.append(progress.recheck_at)
        if progress.dispute is None:
            moments += [lv.at for lv in self._plan.levels if lv.name not in progress.fired]
            if progress.payment_method == "auto_collect":
                moments += self._plan.card_attempts[progress.card_attempts :]
        upcoming = [m for m in moments if m > now]
        return min(upcoming, default=None)

    # Cards ---------------------------------------------------------------------------------

    def _card_due(self, now: datetime) -> bool:
        assert self._plan is not None
        attempts = self.progress.card_attempts
        return (
            self.progress.payment_method == "auto_collect"
            and not self.progress.processing  # one charge in flight at a time
            and attempts < len(self._plan.card_attempts)
            and self._plan.card_attempts[attempts] <= now
        )

    async def _charge(self) -> None:
        """Attempt n of the schedule, under its own idempotency key: a retried activity
        (a worker killed mid-call) gets the provider's first answer, never a second charge."""
        progress = self.progress
        document = self._invoice()
        attempt = progress.card_attempts + 1
        result = await self._call(
            PaymentActivities.charge_payment,
            ChargeInput(
                run_id=workflow.info().workflow_id,
                attempt=attempt,
                customer_id=self._status.customer_id,
                invoice_id=document.invoice.invoice_id,
                erp_document_id=document.erp_document_id,
                amount=progress.amount_due,
                currency=progress.currency,
            ),
        )
        progress.card_attempts = attempt
        if result.status == "succeeded":
            self._note("charged", detail=f"attempt {attempt}: {result.payment_intent_id}")
            await self._apply(
                "payment",
                reference=result.payment_intent_id,
                amount=result.amount_received,
                currency=result.currency,
                source="card",
            )
        elif result.status == "processing":
            polled = workflow.patched(CHARGE_POLLING)
            if polled:
                progress.processing = result.payment_intent_id
                progress.recheck_at = workflow.now() + PROCESSING_RECHECK
            self._note(
                "charge_processing",
                detail=f"attempt {attempt}: {result.payment_intent_id}; "
                + (
                    f"asked about again on {progress.recheck_at}"
                    if polled
                    else "applied when the provider reports it"
                ),
            )
        else:
            self._note(
                "charge_declined",
                detail=f"attempt {attempt}: {result.decline_code or 'declined'}"
                + (f" ({result.decline_message})" if result.decline_message else ""),
            )

    async def _recheck(self) -> None:
        """The processing charge as the provider holds it now: applied once it succeeded,
        declined when it failed, asked about again later while it is still processing."""
        progress = self.progress
        result = await self._call(
            PaymentActivities.fetch_payment, FetchChargeInput(payment_intent_id=progress.processing)
        )
        if result.status == "processing":
            progress.recheck_at = workflow.now() + PROCESSING_RECHECK
            return
        progress.processing, progress.recheck_at = "", None
        if result.status == "succeeded":
            self._note("charge_settled", detail=result.payment_intent_id)
            await self._apply(
                "payment",
                reference=result.payment_intent_id,
                amount=result.amount_received,
                currency=result.currency,
                source="card",
            )
        else:
            self._note(
                "charge_declined",
                detail=f"{result.payment_intent_id}: {result.decline_code or 'declined'}",
            )

    def _settled_elsewhere(self, payment_id: str) -> None:
        """The provider's event about the processing charge: no need to ask again."""
        if self.progress.processing == payment_id:
            self.progress.processing, self.progress.recheck_at = "", None

    # Dunning -------------------------------------------------------------------------------

    async def _fire(self, level: PlannedLevel) -> bool:
        """The level's actions, once; True when the invoice was written off."""
        progress = self.progress
        progress.fired.append(level.name)
        if not level.applies_to(progress.amount_due):
            self._note(
                "skipped",
                level=level.name,
                detail=f"{progress.amount_due} {progress.currency} is below the level's "
                f"minimum {level.min_amount_due}",
            )
            return False
        progress.level = level.name
        self._view.upsert(sa.DUNNING_LEVEL.value_set(level.name))
        self._show()
        if progress.dunning_excluded:
            self._note("none", detail="the customer is excluded from dunning")
            return False
        for action in level.actions:
            if action == "email_reminder":
                await self._send(level, "reminder")
            elif action == "final_notice":
                await self._send(level, "final_notice")
            elif action == "notify_owner":
                await self._notify_owner(level)
            elif action == "block_account":
                await self._block(level)
            elif action == "propose_write_off" and await self._propose_write_off(level):
                return True
        return False

    def _message(self, purpose: str) -> str:
        progress = self.progress
        document = self._invoice()
        what = "Final notice" if purpose == "final_notice" else "Reminder"
        return (
            f"{what}: invoice {document.erp_document_id} of {progress.posted_on} fell due on "
            f"{progress.due_at.date()}; {progress.amount_due} {progress.currency} is still due."
        )

    async def _send(self, level: PlannedLevel, purpose: Purpose) -> None:
        document = self._invoice()
        assert self._customer is not None and self._contract is not None
        delivery = DeliverDocumentInput(
            run_id=workflow.info().workflow_id,
            delivery_key=f"{document.posting_key}:{purpose}:{level.name}",
            invoice=document.invoice,
            erp_document_id=document.erp_document_id,
            posting_key=document.posting_key,
            customer=self._customer,
            terms=self._contract.document_terms,
            issue_date=self.progress.posted_on,
            purpose=purpose,
            message=self._message(purpose),
        )
        await self._deliver(delivery, action=purpose, level=level.name)

    async def _deliver(self, delivery: DeliverDocumentInput, *, action: str, level: str) -> None:
        """A message that fails for good (a bad address) is noted; the collection goes on."""
        self._view.flush()
        try:
            await workflow.execute_activity_method(
                DocumentActivities.deliver_document,
                delivery,
                start_to_close_timeout=timedelta(minutes=2),
                heartbeat_timeout=timedelta(seconds=30),
                retry_policy=RETRY,
            )
        except ActivityError as error:
            self._note(f"{action}_failed", level=level, detail=str(error.cause))
            return
        self._note(action, level=level, detail=delivery.delivery_key)

    async def _notify_owner(self, level: PlannedLevel) -> None:
        progress = self.progress
        owner = self._contract.owner if self._contract else ""
        self._view.flush()
        try:
            await workflow.execute_activity_method(
                RoutingActivities.notify,
                NotifyInput(
                    kind=f"dunning:{level.name}",
                    workflow_id=workflow.info().workflow_id,
                    summary=f"{self._status.customer_id}: {progress.amount_due} "
                    f"{progress.currency} due since {progress.due_at.date()}",
                    approvers=[owner] if owner else [],
                    due_at=progress.due_at,
                ),
                start_to_close_timeout=CALL_TIMEOUT,
                retry_policy=BEST_EFFORT,
            )
        except ActivityError as error:
            self._note("notify_owner_failed", level=level.name, detail=str(error.cause))
            return
        self._note("notify_owner", level=level.name, detail=owner or "no owner on the contract")

    async def _block(self, level: PlannedLevel) -> None:
        await self._call(
            AccountActivities.block_account,
            AccountHoldInput(
                customer_id=self._status.customer_id,
                run_id=workflow.info().workflow_id,
                reason=f"{self._invoice().erp_document_id} past due: {level.name}",
            ),
        )
        self.progress.account_blocked = True
        self._note("block_account", level=level.name)

    async def _propose_write_off(self, level: PlannedLevel) -> bool:
        """Through the approval wait (four-eyes above the policy's amount); True when the
        write-off was approved and posted."""
        progress = self.progress
        owner = self._contract.owner if self._contract else ""
        requirement = await self._call(
            CollectionActivities.write_off_approval,
            WriteOffApprovalInput(
                currency=progress.currency, amount=progress.amount_due, owner=owner
            ),
        )
        self._note(
            "propose_write_off",
            level=level.name,
            detail=f"{progress.amount_due} {progress.currency}",
        )
        try:
            rejection = await self._approval.wait(
                requirement,
                summary=f"write off {progress.amount_due} {progress.currency} of "
                f"{self._invoice().erp_document_id}, due {progress.due_at.date()}",
            )
        except NeedsAttention as expired:
            self._show()
            self._note("write_off_expired", level=level.name, detail=expired.reason)
            return False
        self._show()
        if rejection is not None:
            self._note("write_off_rejected", level=level.name, detail=f"by {rejection.approver}")
            return False
        await self._drain()  # what was paid while the approvers decided
        if progress.amount_due <= 0:
            return False
        approvers = [d.approver for d in self._status.decisions[-requirement.approvals_needed :]]
        amount = progress.amount_due
        await self._post_cash(
            "write_off",
            reference=f"level-{level.name}",
            amount=amount,
            currency=progress.currency,
            value_date=workflow.now().date(),
            source="approved by " + ", ".join(approvers),
        )
        self._note(
            "written_off",
            level=level.name,
            detail=f"{amount} {progress.currency}, approved by " + ", ".join(approvers),
        )
        self._view.upsert(sa.AMOUNT_DUE.value_set(0.0))
        return True

    # Cash ----------------------------------------------------------------------------------

    async def _apply(
        self,
        kind: CashKind,
        *,
        reference: str,
        amount: Decimal,
        currency: str,
        value_date: Any = None,
        source: str,
        received: str = "",
    ) -> CollectionAnswer:
        """A payment to the invoice: once per reference, never in another currency."""
        progress = self.progress
        if progress.has_reference(kind, reference):
            return self._answer("duplicate", f"{reference} was already applied")
        if currency != progress.currency:
            cause = (
                f"currency: {currency} differs from the invoice's {progress.currency}; the "
                f"payment {reference} of {amount} {currency} is refused, not applied"
            )
            return self._refused_answer(
                received or f"{kind} {reference} {amount} {currency}", cause
            )
        await self._post_cash(
            kind,
            reference=reference,
            amount=amount,
            currency=currency,
            value_date=value_date or workflow.now().date(),
            source=source,
        )
        entry = progress.entries[-1]
        self._note(
            "payment_received",
            detail=f"{amount} {currency} ({reference}, {source}): {entry.applied} applied"
            + (f", {entry.to_credit} to the customer's credit balance" if entry.to_credit else ""),
        )
        self._show()
        return self._answer("applied", f"{entry.applied} applied, {progress.amount_due} due")

    async def _post_cash(
        self,
        kind: CashKind,
        *,
        reference: str,
        amount: Decimal,
        currency: str,
        value_date: Any,
        source: str,
    ) -> None:
        """Post to the ERP against the invoice (its key makes a retry harmless), read it back."""
        progress = self.progress
        document = self._invoice()
        activity = {
            "payment": CashActivities.post_payment,
            "refund": CashActivities.post_refund,
            "write_off": CashActivities.post_write_off,
        }[kind]
        posted = await self._call(
            activity,
            CashPostingInput(
                run_id=workflow.info().workflow_id,
                reference=reference,
                erp_document_id=document.erp_document_id,
                amount=amount,
                currency=currency,
                value_date=value_date,
                description=f"{kind} {reference} for {document.invoice.invoice_id}",
            ),
        )
        read = await self._call(
            CashActivities.read_cash_posting, ReadCashPostingInput(posting_key=posted.posting_key)
        )
        if (read.amount, read.applied, read.to_credit) != (
            amount,
            posted.applied,
            posted.to_credit,
        ):
            raise NeedsAttention(
                ReasonCode.RECONCILE_MISMATCH,
                f"the ERP's cash posting {posted.posting_key} reads {read.amount} "
                f"({read.applied} applied, {read.to_credit} to credit), q2c posted {amount} "
                f"({posted.applied} applied, {posted.to_credit} to credit)",
                step="read_cash_posting",
            )
        progress.entries.append(
            CashEntry(
                kind=kind,
                reference=reference,
                amount=amount,
                applied=read.applied,
                to_credit=read.to_credit,
                value_date=value_date,
                posting_key=posted.posting_key,
                erp_document_id=posted.cash_document_id,
                source=source,
            )
        )
        if kind == "payment":
            progress.paid += read.applied
        elif kind == "write_off":
            progress.written_off += read.applied
        else:
            progress.paid -= read.applied
        self._recompute()

    async def _refund(self, body: PaymentRefunded, *, received: str) -> CollectionAnswer:
        """A refund the provider made: posted to the ERP once against the invoice, and what
        it gives back is due again. One the run has no payment for is refused, not posted."""
        progress = self.progress
        amount, currency = body.amount.amount, body.amount.currency
        if progress.has_reference("refund", body.refund_id):
            return self._answer("duplicate", f"{body.refund_id} was already posted")
        if currency != progress.currency:
            return self._refused_answer(
                received,
                f"currency: {currency} differs from the invoice's {progress.currency}; the "
                f"refund {body.refund_id} is refused, not posted",
            )
        if amount > progress.paid:
            return self._refused_answer(
                received,
                f"amount: the refund {body.refund_id} of {amount} {currency} is more than the "
                f"{progress.paid} {currency} paid on this invoice; refused, not posted",
            )
        await self._post_cash(
            "refund",
            reference=body.refund_id,
            amount=amount,
            currency=currency,
            value_date=body.occurred_at.date(),
            source=f"provider, on {body.payment_id}",
        )
        self._note(
            "refunded",
            detail=f"{body.refund_id} of {amount} {currency} on {body.payment_id}: "
            f"{progress.amount_due} {currency} due again",
        )
        self._show()
        return self._answer("applied", f"{amount} refunded, {progress.amount_due} due")

    def _recompute(self) -> None:
        progress = self.progress
        settled = progress.paid + progress.credited + progress.written_off
        progress.amount_due = max(progress.total - settled, ZERO)
        progress.credit_balance = sum((e.to_credit for e in progress.entries), ZERO) + max(
            settled - progress.total, ZERO
        )

    # Disputes ------------------------------------------------------------------------------

    async def _open_dispute(self, reason: str, *, by: str, reference: str) -> CollectionAnswer:
        progress = self.progress
        if progress.dispute is not None:
            return self._answer("noted", f"already disputed since {progress.dispute.opened_at}")
        progress.dispute = OpenDispute(
            reason=reason, opened_at=workflow.now(), opened_by=by, reference=reference
        )
        progress.disputes += 1
        self._show()
        self._note("dispute_opened", detail=f"{reason}" + (f" (by {by})" if by else ""))
        if workflow.patched(DISPUTE_AUDIT):
            await record(
                self._view,
                HandoffInput(
                    step=Step.DISPUTE,
                    outcome=Outcome.DISPUTED,
                    decided_by=by,
                    at=workflow.now(),
                    detail=(f"{reference}: " if reference else "") + reason,
                    occurrence=progress.disputes,
                ),
            )
        return self._answer("applied", "dispute opened: dunning paused")

    def _resume(self) -> None:
        """Dunning resumes where it was: what was still to come moves by the pause."""
        progress = self.progress
        assert progress.dispute is not None and self._plan is not None
        paused = workflow.now() - progress.dispute.opened_at
        progress.dispute = None
        self._plan.levels = [
            lv if lv.name in progress.fired else lv.model_copy(update={"at": lv.at + paused})
            for lv in self._plan.levels
        ]
        done = progress.card_attempts
        self._plan.card_attempts = self._plan.card_attempts[:done] + [
            at + paused for at in self._plan.card_attempts[done:]
        ]

    async def _resolve(self, resolution: DisputeResolution) -> CollectionAnswer:
        progress = self.progress
        if progress.dispute is None:
            return self._refused_answer(
                resolution.model_dump_json(), "outcome: no dispute is open on this invoice"
            )
        if resolution.outcome == "upheld":
            self._resume()
            self._show()
            self._note("dispute_upheld", detail=resolution.comment or resolution.by)
            return self._answer("applied", "dispute upheld: dunning resumes")
        assert resolution.credit_amount is not None
        amount = min(resolution.credit_amount, progress.amount_due)
        await self._credit(amount, reason=progress.dispute.reason)
        self._resume()
        self._recompute()
        self._show()
        self._note(
            "dispute_credited",
            detail=f"{amount} {progress.currency} credited; {progress.amount_due} still due",
        )
        return self._answer("applied", f"{amount} credited, {progress.amount_due} due")

    async def _credit(self, amount: Decimal, *, reason: str) -> None:
        """A credit note for `amount`, drafted, posted once (its own posting key), read back,
        delivered like any document, and applied to what is due."""
        progress = self.progress
        invoice = self._invoice()
        number = sum(1 for e in progress.entries if e.kind == "credit_note") + 1
        run_id = workflow.info().workflow_id
        posting_key = f"{run_id}:dispute-credit:{number}"
        note = await self._call(
            CollectionActivities.draft_dispute_credit,
            DisputeCreditInput(
                invoice=invoice.invoice,
                amount=amount,
                credit_note_id=f"{invoice.invoice.invoice_id}:dispute-credit:{number}",
                reason=reason,
            ),
        )
        posted = await self._call(
            ErpActivities.post_invoice, PostInvoiceInput(posting_key=posting_key, invoice=note)
        )
        reconciled = await self._call(ErpActivities.reconcile, ReconcileInput.of(posting_key, note))
        if not reconciled.matched:
            raise NeedsAttention(
                ReasonCode.RECONCILE_MISMATCH,
                f"ERP differs from the dispute's credit note {posting_key}: "
                + "; ".join(f"{d.field}: {d.expected} ≠ {d.found}" for d in reconciled.differences),
                step="reconcile",
            )
        if workflow.patched(DISPUTE_CREDIT_APPLIED):
            await self._apply_credit_note(posted.erp_document_id, amount)
        document = RunDocument.of(note, posting_key=posting_key)
        document.erp_document_id = posted.erp_document_id
        document.corrects = invoice.erp_document_id
        document.issue_date = workflow.now().date()
        self._status.documents.append(document)
        progress.entries.append(
            CashEntry(
                kind="credit_note",
                reference=note.invoice_id,
                amount=amount,
                applied=amount,
                value_date=workflow.now().date(),
                posting_key=posting_key,
                erp_document_id=posted.erp_document_id,
                source="dispute",
            )
        )
        progress.credited += amount
        assert self._customer is not None and self._contract is not None
        await self._deliver(
            DeliverDocumentInput(
                run_id=run_id,
                delivery_key=posting_key,
                invoice=note,
                erp_document_id=posted.erp_document_id,
                posting_key=posting_key,
                customer=self._customer,
                terms=self._contract.document_terms,
                issue_date=workflow.now().date(),
                preceding_invoice=invoice.erp_document_id,
                preceding_invoice_date=progress.posted_on,
                purpose="document",
            ),
            action="credit_note_sent",
            level="",
        )

    async def _apply_credit_note(self, credit_note: str, amount: Decimal) -> None:
        """The credit note against the invoice in the ERP, once (its key), read back."""
        progress = self.progress
        invoice = self._invoice()
        applied = await self._call(
            CashActivities.apply_credit_note,
            CashPostingInput(
                run_id=workflow.info().workflow_id,
                reference=credit_note,
                erp_document_id=invoice.erp_document_id,
                amount=amount,
                currency=progress.currency,
                value_date=workflow.now().date(),
                description=f"{credit_note} applied to {invoice.erp_document_id}",
            ),
        )
        read = await self._call(
            CashActivities.read_cash_posting, ReadCashPostingInput(posting_key=applied.posting_key)
        )
        if (read.amount, read.applied) != (amount, amount):
            raise NeedsAttention(
                ReasonCode.RECONCILE_MISMATCH,
                f"the ERP's credit application {applied.posting_key} reads {read.amount} "
                f"({read.applied} applied), q2c applied {amount}",
                step="read_cash_posting",
            )
        self._note("credit_applied", detail=f"{credit_note}: {amount} {progress.currency}")

    # The inbox -----------------------------------------------------------------------------

    async def _drain(self) -> None:
        while self._inbox:
            item = self._inbox.pop(0)
            self._answers[item.number] = await self._work(item.body)

    async def _work(
        self, body: PaymentInput | DisputeInput | DisputeResolution
    ) -> CollectionAnswer:
        received = body.model_dump_json()[:500]
        if isinstance(body, PaymentNotice):
            return await self._apply(
                "payment",
                reference=body.reference,
                amount=body.amount,
                currency=body.currency,
                value_date=body.value_date,
                source=f"bank transfer{f', recorded by {body.by}' if body.by else ''}",
                received=received,
            )
        if isinstance(body, PaymentSucceeded):
            self._settled_elsewhere(body.payment_id)
            return await self._apply(
                "payment",
                reference=body.payment_id,
                amount=body.amount.amount,
                currency=body.amount.currency,
                value_date=body.occurred_at.date(),
                source="provider",
                received=received,
            )
        if isinstance(body, PaymentFailed):
            self._settled_elsewhere(body.payment_id)
            self._note("payment_failed", detail=f"{body.payment_id}: {body.failure_code}")
            return self._answer("noted", f"payment {body.payment_id} failed: {body.failure_code}")
        if isinstance(body, PaymentRefunded):
            if workflow.patched(COLLECTION_REFUNDS):
                return await self._refund(body, received=received)
            self._note(
                "refund_reported",
                detail=f"{body.refund_id} of {body.amount.amount} {body.amount.currency} on "
                f"{body.payment_id}",
            )
            return self._answer("noted", "refund noted")
        if isinstance(body, DisputeNotice):
            return await self._open_dispute(body.reason, by=body.by, reference="")
        if isinstance(body, DisputeOpened):
            return await self._open_dispute(body.reason, by="provider", reference=body.dispute_id)
        if isinstance(body, DisputeClosed):
            if body.outcome == "won":
                resolution = DisputeResolution(outcome="upheld", by="provider")
            else:
                resolution = DisputeResolution(
                    outcome="credited", credit_amount=body.amount.amount, by="provider"
                )
            return await self._resolve(resolution)
        return await self._resolve(body)

    async def take(self, body: PaymentInput | DisputeInput | DisputeResolution) -> CollectionAnswer:
        """An update's input into the inbox; its answer once the phase has worked on it."""
        self._received += 1
        number = self._received
        self._inbox.append(_Item(number=number, body=body))
        await workflow.wait_condition(lambda: number in self._answers)
        return self._answers.pop(number)

    def refusal(self, body: BaseModel | None = None) -> str | None:
        """Why the run takes no payment or dispute (`body`) now, or None."""
        what = getattr(body, "type", "input")
        if self._status.collection is None or self._plan is None:
            return f"the run is {self._status.state.value}, not collecting payment: {what} refused"
        if self._status.state.settled:
            return f"the run is {self._status.state.value}, nothing is due: {what} refused"
        return None

    def resolve_refusal(self, resolution: DisputeResolution) -> str | None:
        refusal = self.refusal()
        if refusal is not None:
            return refusal
        progress = self.progress
        if progress.dispute is None and not any(
            isinstance(i.body, DisputeNotice | DisputeOpened) for i in self._inbox
        ):
            return "outcome: no dispute is open on this invoice"
        if resolution.credit_amount is not None and resolution.credit_amount > progress.amount_due:
            return (
                f"credit_amount: {resolution.credit_amount} is more than the "
                f"{progress.amount_due} {progress.currency} due"
            )
        return None

    def receive_signal(
        self,
        name: str,
        payload: RawValue,
        model: type[PaymentNotice | DisputeNotice | DisputeResolution],
    ) -> None:
        """Input typed by a person: taken loosely, refused visibly, never dropped."""
        text = received(payload)
        body = read_signal(payload, model)
        if isinstance(body, str):
            self._refuse(text, f"{name}: {body}")
            self._keep_whole(name, payload)
            return
        refusal = (
            self.resolve_refusal(body)
            if isinstance(body, DisputeResolution)
            else self.refusal(body)
        )
        if refusal is not None:
            self._refuse(text, f"{name}: {refusal}")
            self._keep_whole(name, payload)
            return
        self._received += 1
        self._inbox.append(_Item(number=self._received, body=body))

    # Helpers -------------------------------------------------------------------------------

    def _refuse(self, received: str, cause: str) -> None:
        refuse(self._view, received, cause)
        if self._status.collection is None:
            return
        # Refusals grow with what is sent: the timeline keeps the latest, like `refused`.
        self._note("refused", detail=cut(cause))
        timeline = self.progress.timeline
        refusals = [i for i, entry in enumerate(timeline) if entry.action == "refused"]
        for index in reversed(refusals[:-KEPT_REFUSALS]):
            del timeline[index]

    def _keep_whole(self, name: str, payload: RawValue) -> None:
        """A refused signal kept cut goes whole to the audit trail (workflows/whole_input.py)."""
        self._view.whole.signal(name, payload)

    def _refused_answer(self, received: str, cause: str) -> CollectionAnswer:
        self._refuse(received, cause)
        return self._answer("refused", cause)

    def _answer(self, outcome: AnswerOutcome, detail: str) -> CollectionAnswer:
        return CollectionAnswer(
            outcome=outcome,
            detail=detail,
            amount_due=self.progress.amount_due,
            state=self._status.state.value,
        )

    def _invoice(self) -> RunDocument:
        document = self._status.document("invoice")
        assert document is not None
        return document

    async def _call(self, activity: Any, arg: Any) -> Any:
        return await call(self._view, activity, arg)
