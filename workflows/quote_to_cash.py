"""QuoteToCash: one billing run per business key, from contract event to reconciled posting."""

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    import workflows.search_attributes as sa
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
    from schemas.contract import Contract
    from schemas.errors import ReasonCode
    from schemas.events import ContractAmended, ContractEvent, workflow_id_for
    from schemas.invoice import Invoice
    from schemas.runs import ApprovalProgress, RunInput, RunState, RunStatus
    from schemas.steps import (
        RISK_LEVELS,
        AmendmentDocuments,
        ComputeTaxInput,
        DraftAmendmentInput,
        DraftInvoiceInput,
        FetchContractInput,
        FetchUsageInput,
        NotifyInput,
        PostInvoiceInput,
        ReconcileInput,
        RouteInput,
        ValidateCustomerInput,
    )
    from schemas.usage import UsageSummary
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
LOCAL_STEPS = "local-steps"
"""Patch id: rating, tax and routing run as local activities; the search attributes set in
one workflow task go up in one upsert; a `contract.amended` run bills a credit note for the
unused old terms and an invoice for the new ones."""

APPROVE_HELP = (
    "Approve this invoice for posting to the ERP. "
    'Input: {"approver": "you@company.com", "comment": "why"}'
)
REJECT_HELP = (
    'Reject this invoice: nothing is posted. Input: {"approver": "you@company.com", '
    '"comment": "why"}'
)


def _posting_key(event: ContractEvent, document: Invoice) -> str:
    """The ERP posting key: the run's id, and for a credit note a suffix of its own."""
    key = workflow_id_for(event)
    return f"{key}:credit-note" if document.document_type == "credit_note" else key


def _stop_if_permanent(cause: BaseException | None) -> None:
    """A permanent failure stops the run for a person; anything else fails the task."""
    if isinstance(cause, ApplicationError) and cause.non_retryable:
        raise NeedsAttention(cause.type or "activity_failed", cause.message) from None


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
        self._local_steps = False
        self._pending: dict[str, SearchAttributeUpdate[Any]] = {}

    @workflow.run
    async def run(self, input: RunInput) -> RunStatus:
        # Runs begun before this patch replay the steps they recorded: see
        # docs/operations.md, "Changing the workflow".
        self._local_steps = workflow.patched(LOCAL_STEPS)
        try:
            await self._bill(input)
        except NeedsAttention as stop:
            self._status.reason_code = stop.code
            self._status.reason = stop.reason
            self._set_state(RunState.NEEDS_ATTENTION)
        self._flush()
        return self._status

    async def _bill(self, input: RunInput) -> None:
        event = input.event
        amendment = event if self._local_steps and isinstance(event, ContractAmended) else None
        self._set_state(RunState.VALIDATING)
        validated = await self._call(
            CrmActivities.validate_customer,
            ValidateCustomerInput(
                contract_id=event.contract_id, as_of=amendment.period_start if amendment else None
            ),
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
        self._upsert(sa.CUSTOMER_ID.value_set(customer.id))
        if validated.blocking:
            raise NeedsAttention(
                ReasonCode.CUSTOMER_INVALID,
                "; ".join(f"{p.field}: {p.message}" for p in validated.blocking),
            )

        usage: UsageSummary | None = None
        if amendment is not None:
            drafts = await self._draft_amendment(amendment, contract)
        else:
            self._set_state(RunState.FETCHING_USAGE)
            usage = await self._call(
                UsageActivities.fetch_usage,
                FetchUsageInput(
                    contract=contract, period_start=event.period_start, period_end=event.period_end
                ),
            )
            self._set_state(RunState.RATING)
            drafts = [
                await self._step(
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
            ]
        if not drafts:
            self._status.reason = "the change moves no fee billed in advance: nothing to post"
            self._set_state(RunState.NOTHING_TO_BILL)
            # The audit trail settles the run too, or the report would list it as open.
            await self._record(
                HandoffInput(
                    step=Step.OUTCOME,
                    outcome=Outcome.NOTHING_TO_BILL,
                    at=workflow.now(),
                    detail=self._status.reason,
                )
            )
            return

        self._set_state(RunState.TAXING)
        documents: list[Invoice] = []
        tax_uncertain = False
        for draft in drafts:
            taxed = await self._step(
                BillingActivities.compute_tax, ComputeTaxInput(invoice=draft, customer=customer)
            )
            documents.append(taxed.invoice)
            tax_uncertain = tax_uncertain or taxed.uncertain
        self._show(documents)

        self._set_state(RunState.ROUTING)
        routes = [
            await self._step(
                RoutingActivities.route,
                RouteInput(
                    invoice=document,
                    contract=contract,
                    customer=customer,
                    problems=validated.problems,
                    tax_uncertain=tax_uncertain,
                    usage=usage,
                ),
            )
            for document in documents
        ]
        # A contract-level reason (a clause, a manual price) comes with each of an
        # amendment's two documents; a person needs to read it once.
        unique = {(r.code, r.message): r for route in routes for r in route.reasons}
        reasons = list(unique.values())
        self._status.route_reasons = reasons
        self._status.risk_level = max((r.risk_level for r in routes), key=RISK_LEVELS.index)
        self._upsert(sa.RISK_LEVEL.value_set(self._status.risk_level))
        if reasons:
            approval = next((r.approval for r in routes if r.approval is not None), None)
            if approval is None:
                raise NeedsAttention(
                    ReasonCode.CONFIGURATION, "the route needs approval but names no policy"
                )
            await self._await_approval(approval, input)
            if self._status.state is RunState.REJECTED:
                return

        self._set_state(RunState.POSTING)
        posted = [
            await self._call(
                ErpActivities.post_invoice,
                PostInvoiceInput(posting_key=_posting_key(event, document), invoice=document),
            )
            for document in documents
        ]
        memo: dict[str, str] = {}
        for document, posting in zip(documents, posted, strict=True):
            if document.document_type == "credit_note":
                self._status.credit_note_document_id = posting.erp_document_id
                self._status.credit_note_posting_key = posting.posting_key
                memo["credit_note_document_id"] = posting.erp_document_id
            else:
                self._status.posting_key = posting.posting_key
                self._status.erp_document_id = posting.erp_document_id
                memo["erp_document_id"] = posting.erp_document_id
        if self._local_steps or workflow.patched(ERP_DOCUMENT_MEMO):
            # Runs that posted before this change have no memo command here: see
            # docs/operations.md, "Changing the workflow".
            workflow.upsert_memo(memo)

        self._set_state(RunState.RECONCILING)
        for document in documents:
            reconciled = await self._call(
                ErpActivities.reconcile,
                ReconcileInput(posting_key=_posting_key(event, document), invoice=document),
            )
            if not reconciled.matched:
                raise NeedsAttention(
                    ReasonCode.RECONCILE_MISMATCH,
                    f"ERP differs from the {document.document_type.replace('_', ' ')}: "
                    + "; ".join(
                        f"{d.field}: expected {d.expected}, found {d.found}"
                        for d in reconciled.differences
                    ),
                )
        self._set_state(RunState.POSTED)

    async def _draft_amendment(self, event: ContractAmended, contract: Contract) -> list[Invoice]:
        """A mid-period change: the unused part of the old terms' in-advance fees comes back
        on a credit note, the new terms are invoiced for the rest of the period."""
        previous = await self._call(
            CrmActivities.fetch_contract,
            FetchContractInput(
                contract_id=event.contract_id, as_of=event.period_start - timedelta(days=1)
            ),
        )
        self._set_state(RunState.RATING)
        drafted: AmendmentDocuments = await self._step(
            BillingActivities.draft_amendment,
            DraftAmendmentInput(
                previous_contract=previous,
                contract=contract,
                change_date=event.period_start,
                invoice_id=event.business_key,
                credit_note_id=f"{event.business_key}:credit-note",
            ),
        )
        return [d for d in (drafted.credit_note, drafted.invoice) if d is not None]

    def _show(self, documents: list[Invoice]) -> None:
        """The invoice (or, alone, the credit note) is the run's total; both are shown."""
        invoice = next((d for d in documents if d.document_type == "invoice"), None)
        credit_note = next((d for d in documents if d.document_type == "credit_note"), None)
        headline = invoice or credit_note
        assert headline is not None
        self._status.invoice = invoice
        self._status.credit_note = credit_note
        self._status.total = headline.total
        self._status.currency = headline.currency
        self._upsert(sa.INVOICE_TOTAL.value_set(float(headline.total)))

    async def _call(self, activity: Any, arg: Any) -> Any:
        """An activity on the task queue: for calls to the systems of record."""
        self._flush()
        try:
            return await workflow.execute_activity_method(
                activity,
                arg,
                start_to_close_timeout=CALL_TIMEOUT,
                heartbeat_timeout=HEARTBEAT_TIMEOUT,
                retry_policy=RETRY,
            )
        except ActivityError as error:
            _stop_if_permanent(error.cause)
            raise

    async def _step(self, activity: Any, arg: Any) -> Any:
        """A short step (rating, tax, routing) as a local activity: the worker that runs the
        workflow task runs it, without a round trip through the server's task queue."""
        if not self._local_steps:
            return await self._call(activity, arg)
        try:
            return await workflow.execute_local_activity_method(
                activity, arg, start_to_close_timeout=CALL_TIMEOUT, retry_policy=RETRY
            )
        except ActivityError as error:
            _stop_if_permanent(error.cause)
            raise
        except ApplicationError as error:  # a local activity's failure can arrive unwrapped
            _stop_if_permanent(error)
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
        self._upsert(sa.APPROVAL_DUE_AT.value_set(due))
        self._set_state(RunState.AWAITING_APPROVAL)
        steps = [
            (s, k) for s, k in ((reminder, "reminder"), (escalation, "escalation")) if s < expiry
        ]
        for seconds, kind in [*sorted(steps), (expiry, "expired")]:
            remaining = start + timedelta(seconds=seconds) - workflow.now()
            if remaining > timedelta(0):
                self._flush()
                try:
                    await workflow.wait_condition(self._decided, timeout=remaining)
                except TimeoutError:
                    pass
            if self._decided():
                break
            if kind == "expired":
                await self._notify("expired")
                self._upsert(sa.APPROVAL_DUE_AT.value_unset())
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
        self._upsert(sa.APPROVAL_DUE_AT.value_unset())
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
        self._flush()
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
        self._flush()
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
        self._upsert(sa.Q2C_STATUS.value_set(state.value))
        self._refresh_details()

    def _upsert(self, update: SearchAttributeUpdate[Any]) -> None:
        # Every upsert is a history event and a billed action: the attributes set in one
        # workflow task go up together, just before the workflow next waits.
        if self._local_steps:
            self._pending[update.key.name] = update
        else:
            workflow.upsert_search_attributes([update])

    def _flush(self) -> None:
        if self._pending:
            workflow.upsert_search_attributes(list(self._pending.values()))
            self._pending.clear()

    def _refresh_details(self) -> None:
        workflow.set_current_details(current_details(self._status))
