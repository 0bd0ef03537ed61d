"""QuoteToCash: one billing run per business key, from contract event to reconciled posting."""

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from activities.audit import AuditActivities
    from activities.billing import BillingActivities
    from activities.crm import CrmActivities
    from activities.erp import ErpActivities
    from activities.routing import RoutingActivities
    from activities.usage import UsageActivities
    from activities.vies import ViesActivities, ViesCheckInput
    from schemas.approvals import (
        ApprovalInput,
        ApprovalRequirement,
        Decision,
        RecordedDecision,
        RefusedAttempt,
        Verdict,
    )
    from schemas.audit import HandoffInput, Outcome, Step
    from schemas.errors import ReasonCode
    from schemas.events import workflow_id_for
    from schemas.runs import ApprovalProgress, RunInput, RunState, RunStatus
    from schemas.steps import (
        ComputeTaxInput,
        DraftInvoiceInput,
        FetchUsageInput,
        NotifyInput,
        PostInvoiceInput,
        ReconcileInput,
        RouteInput,
        ValidateCustomerInput,
    )
    from workflows import search_attributes as sa
    from workflows.details import current_details

RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=60),
)
"""Transient failures retry until the system is back; permanent ones are non-retryable."""
CALL_TIMEOUT = timedelta(seconds=30)
HEARTBEAT_TIMEOUT = timedelta(seconds=10)
"""Activities heartbeat while they call a system: a killed worker's call is retried in 10 s."""
ERP_DOCUMENT_MEMO = "erp-document-memo"
"""Patch id: the ERP document number goes into the run's memo, shown in the UI's list."""

APPROVE_HELP = (
    "Approve this invoice for posting to the ERP. "
    'Input: {"approver": "you@company.com", "comment": "why"}'
)
REJECT_HELP = (
    'Reject this invoice: nothing is posted. Input: {"approver": "you@company.com", '
    '"comment": "why"}'
)


class NeedsAttention(Exception):
    """Ends the run in the needs-attention state: a person must fix something."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@workflow.defn(name="QuoteToCash")
class QuoteToCashWorkflow:
    @workflow.init
    def __init__(self, input: RunInput) -> None:
        self._input = input
        self._status = RunStatus(state=RunState.RECEIVED, contract_id=input.event.contract_id)
        self._owner = ""
        self._requirement: ApprovalRequirement | None = None

    @workflow.run
    async def run(self, input: RunInput) -> RunStatus:
        try:
            await self._bill(input)
        except NeedsAttention as stop:
            self._status.reason_code = stop.code
            self._status.reason = stop.reason
            self._set_state(RunState.NEEDS_ATTENTION)
        return self._status

    async def _bill(self, input: RunInput) -> None:
        event = input.event
        self._set_state(RunState.VALIDATING)
        validated = await self._call(
            CrmActivities.validate_customer, ValidateCustomerInput(contract_id=event.contract_id)
        )
        contract, customer = validated.contract, validated.customer
        if validated.vies_check:
            vies = await self._call(
                ViesActivities.check_vat, ViesCheckInput(vat_number=customer.tax_id)
            )
            validated.problems.extend(vies.problems)
        self._owner = contract.owner
        self._status.customer_id = customer.id
        self._status.problems = validated.problems
        workflow.upsert_search_attributes([sa.CUSTOMER_ID.value_set(customer.id)])
        if validated.blocking:
            raise NeedsAttention(
                ReasonCode.CUSTOMER_INVALID,
                "; ".join(f"{p.field}: {p.message}" for p in validated.blocking),
            )

        self._set_state(RunState.FETCHING_USAGE)
        usage = await self._call(
            UsageActivities.fetch_usage,
            FetchUsageInput(
                contract=contract, period_start=event.period_start, period_end=event.period_end
            ),
        )
        self._set_state(RunState.RATING)
        draft = await self._call(
            BillingActivities.draft_invoice,
            DraftInvoiceInput(
                contract=contract,
                usage=usage,
                period_start=event.period_start,
                period_end=event.period_end,
                invoice_id=event.business_key,
                milestone_id=getattr(event, "milestone_id", None),
            ),
        )
        self._set_state(RunState.TAXING)
        taxed = await self._call(
            BillingActivities.compute_tax, ComputeTaxInput(invoice=draft, customer=customer)
        )
        invoice = taxed.invoice
        self._status.invoice = invoice
        self._status.total = invoice.total
        self._status.currency = invoice.currency
        workflow.upsert_search_attributes([sa.INVOICE_TOTAL.value_set(float(invoice.total))])

        self._set_state(RunState.ROUTING)
        route = await self._call(
            RoutingActivities.route,
            RouteInput(
                invoice=invoice,
                contract=contract,
                customer=customer,
                problems=validated.problems,
                tax_uncertain=taxed.uncertain,
                usage=usage,
            ),
        )
        self._status.route_reasons = route.reasons
        self._status.risk_level = route.risk_level
        workflow.upsert_search_attributes([sa.RISK_LEVEL.value_set(route.risk_level)])
        if route.reasons:
            if route.approval is None:
                raise NeedsAttention(
                    ReasonCode.CONFIGURATION, "the route needs approval but names no policy"
                )
            await self._await_approval(route.approval, input)
            if self._status.state is RunState.REJECTED:
                return

        self._set_state(RunState.POSTING)
        posting_key = workflow_id_for(event)
        posted = await self._call(
            ErpActivities.post_invoice, PostInvoiceInput(posting_key=posting_key, invoice=invoice)
        )
        self._status.posting_key = posted.posting_key
        self._status.erp_document_id = posted.erp_document_id
        if workflow.patched(ERP_DOCUMENT_MEMO):
            # Runs that posted before this change have no memo command here: see
            # docs/operations.md, "Changing the workflow".
            workflow.upsert_memo({"erp_document_id": posted.erp_document_id})

        self._set_state(RunState.RECONCILING)
        reconciled = await self._call(
            ErpActivities.reconcile, ReconcileInput(posting_key=posting_key, invoice=invoice)
        )
        if not reconciled.matched:
            raise NeedsAttention(
                ReasonCode.RECONCILE_MISMATCH,
                "ERP differs from the invoice: "
                + "; ".join(
                    f"{d.field}: expected {d.expected}, found {d.found}"
                    for d in reconciled.differences
                ),
            )
        self._set_state(RunState.POSTED)

    async def _call(self, activity: Any, arg: Any) -> Any:
        try:
            return await workflow.execute_activity_method(
                activity,
                arg,
                start_to_close_timeout=CALL_TIMEOUT,
                heartbeat_timeout=HEARTBEAT_TIMEOUT,
                retry_policy=RETRY,
            )
        except ActivityError as error:
            cause = error.cause
            if isinstance(cause, ApplicationError) and cause.non_retryable:
                raise NeedsAttention(cause.type or "activity_failed", cause.message) from None
            raise

    # Approval -----------------------------------------------------------------------------

    async def _await_approval(self, requirement: ApprovalRequirement, input: RunInput) -> None:
        """Wait for the decision on Temporal timers (they survive restarts): remind, then
        escalate to the next tier, then expire into needs-attention."""
        self._requirement = requirement
        start = workflow.now()
        expiry = input.approval_timeout_seconds or requirement.expiry_seconds
        reminder = input.reminder_seconds or requirement.reminder_seconds
        escalation = input.escalation_seconds or requirement.escalation_seconds
        tiers = requirement.tiers() or [0]
        due = start + timedelta(seconds=expiry)
        self._status.approval = ApprovalProgress(
            approvals_needed=requirement.approvals_needed,
            tier=tiers[0],
            approvers=requirement.approvers_at(tiers[0]),
            waiting_since=start,
            due_at=due,
        )
        workflow.upsert_search_attributes([sa.APPROVAL_DUE_AT.value_set(due)])
        self._set_state(RunState.AWAITING_APPROVAL)
        steps = [
            (s, k) for s, k in ((reminder, "reminder"), (escalation, "escalation")) if s < expiry
        ]
        for seconds, kind in [*sorted(steps), (expiry, "expired")]:
            remaining = start + timedelta(seconds=seconds) - workflow.now()
            if remaining > timedelta(0):
                try:
                    await workflow.wait_condition(self._decided, timeout=remaining)
                except TimeoutError:
                    pass
            if self._decided():
                break
            if kind == "expired":
                await self._notify("expired")
                workflow.upsert_search_attributes([sa.APPROVAL_DUE_AT.value_unset()])
                raise NeedsAttention(
                    ReasonCode.APPROVAL_EXPIRED,
                    f"no decision within {timedelta(seconds=expiry)}; the invoice was not posted",
                )
            if kind == "escalation":
                self._escalate(tiers)
            else:
                self._status.approval.reminded_at = workflow.now()
            self._refresh_details()
            await self._notify(kind)
        workflow.upsert_search_attributes([sa.APPROVAL_DUE_AT.value_unset()])
        # Who decided, and when, goes to the audit trail: it outlives this history.
        for decision in self._status.decisions:
            await self._record(
                HandoffInput(
                    step=Step.APPROVAL,
                    outcome=Outcome.APPROVED if decision.verdict == "approve" else Outcome.REJECTED,
                    decided_by=decision.approver,
                    at=decision.at,
                    detail=decision.comment,
                )
            )
        rejection = next((d for d in self._status.decisions if d.verdict == "reject"), None)
        if rejection is not None:
            self._status.reason_code = ReasonCode.REJECTED
            self._status.reason = f"rejected by {rejection.approver}: {rejection.comment}"
            await self._record(
                HandoffInput(
                    step=Step.OUTCOME,
                    outcome=Outcome.REJECTED,
                    reason_code=ReasonCode.REJECTED,
                    decided_by=rejection.approver,
                    at=workflow.now(),
                )
            )
            self._set_state(RunState.REJECTED)

    async def _record(self, handoff: HandoffInput) -> None:
        await workflow.execute_activity_method(
            AuditActivities.record_handoff,
            handoff,
            start_to_close_timeout=CALL_TIMEOUT,
            retry_policy=RETRY,
        )

    def _escalate(self, tiers: list[int]) -> None:
        progress = self._status.approval
        assert progress is not None and self._requirement is not None
        higher = [t for t in tiers if t > progress.tier]
        if higher:
            progress.tier = higher[0]
            progress.approvers = self._requirement.approvers_at(higher[0])
        progress.escalated_at = workflow.now()

    async def _notify(self, kind: str) -> None:
        # Best effort: a failing webhook must not stop the wait, so it is logged and passed.
        progress = self._status.approval
        assert progress is not None
        notice = NotifyInput(
            kind=kind,
            workflow_id=workflow.info().workflow_id,
            summary=f"{self._status.total} {self._status.currency}: "
            + "; ".join(r.message for r in self._status.route_reasons),
            approvers=progress.approvers,
            due_at=progress.due_at,
        )
        try:
            await workflow.execute_activity_method(
                RoutingActivities.notify,
                notice,
                start_to_close_timeout=CALL_TIMEOUT,
                retry_policy=RetryPolicy(maximum_attempts=5, initial_interval=timedelta(seconds=2)),
            )
        except ActivityError as error:
            workflow.logger.warning("approval %s notice failed: %s", kind, error.cause)

    def _approved_by(self) -> list[str]:
        return [d.approver for d in self._status.decisions if d.verdict == "approve"]

    def _decided(self) -> bool:
        if any(d.verdict == "reject" for d in self._status.decisions):
            return True
        needed = self._requirement.approvals_needed if self._requirement else 1
        return len(self._approved_by()) >= needed

    def _refusal(self, verdict: Verdict, approver: str) -> str | None:
        if self._status.state is not RunState.AWAITING_APPROVAL or self._requirement is None:
            return f"the run is {self._status.state.value}, not awaiting approval"
        if self._decided():
            return "a decision was already recorded"
        return self._requirement.refusal(verdict, approver, approved_by=self._approved_by())

    def _accept(self, verdict: Verdict, approver: str, comment: str) -> None:
        decision = RecordedDecision(
            verdict=verdict, approver=approver, comment=comment, at=workflow.now()
        )
        self._status.decisions.append(decision)
        if self._status.approval is not None and verdict == "approve":
            self._status.approval.approved_by.append(approver)
        self._refresh_details()

    def _receive_signal(self, verdict: Verdict, payload: RawValue) -> None:
        # Input typed by a person: take it loosely, refuse it visibly, never drop it.
        received = str(payload.payload.data[:500], "utf-8", errors="replace")
        try:
            raw = workflow.payload_converter().from_payload(payload.payload)
            decision = ApprovalInput.model_validate(raw)
        except ValidationError as error:
            cause = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}"
                for e in error.errors()
            )
            self._refuse(received, f"{verdict}: {cause}")
            return
        except Exception as error:  # undecodable input is recorded, not raised
            self._refuse(received, f"{verdict}: input is not a JSON object ({error})")
            return
        refusal = self._refusal(verdict, decision.approver)
        if refusal is not None:
            self._refuse(received, f"{verdict} by {decision.approver}: {refusal}")
            return
        self._accept(verdict, decision.approver, decision.comment)

    def _refuse(self, received: str, cause: str) -> None:
        workflow.logger.warning("refused decision: %s", cause)
        self._status.refused.append(
            RefusedAttempt(received=received, cause=cause, at=workflow.now())
        )
        self._refresh_details()

    @workflow.signal(name="approve", description=APPROVE_HELP)
    def approve(self, payload: RawValue) -> None:
        self._receive_signal("approve", payload)

    @workflow.signal(name="reject", description=REJECT_HELP)
    def reject(self, payload: RawValue) -> None:
        self._receive_signal("reject", payload)

    @workflow.update(
        name="decide", description="Approve or reject; a refused decision fails at once."
    )
    def decide(self, decision: Decision) -> RunStatus:
        self._accept(decision.verdict, decision.approver, decision.comment)
        return self._status

    @decide.validator
    def _validate_decide(self, decision: Decision) -> None:
        refusal = self._refusal(decision.verdict, decision.approver)
        if refusal is not None:
            raise ValueError(refusal)

    @workflow.query(name="status", description="Where the run is, and why.")
    def status(self) -> RunStatus:
        return self._status

    # Visibility ---------------------------------------------------------------------------

    def _set_state(self, state: RunState) -> None:
        self._status.state = state
        workflow.upsert_search_attributes([sa.Q2C_STATUS.value_set(state.value)])
        self._refresh_details()

    def _refresh_details(self) -> None:
        workflow.set_current_details(current_details(self._status))
