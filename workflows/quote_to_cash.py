"""QuoteToCash: one billing run per business key, from contract event to reconciled posting."""

from datetime import date, datetime, timedelta
from typing import Any, Literal

from temporalio import workflow
from temporalio.common import RawValue
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    import workflows.search_attributes as sa
    from activities.billing import BillingActivities
    from activities.crm import CrmActivities
    from activities.documents import DocumentActivities
    from activities.erp import ErpActivities
    from activities.routing import RoutingActivities
    from activities.usage import UsageActivities
    from activities.vies import ViesActivities, ViesCheckInput
    from schemas.approvals import ApprovalRequirement, Decision
    from schemas.audit import HandoffInput, Outcome, Step
    from schemas.collection import (
        CollectionAnswer,
        DisputeNotice,
        DisputeResolution,
        PaymentNotice,
        RaiseDispute,
        RecordPayment,
    )
    from schemas.contract import Contract
    from schemas.customer import Customer
    from schemas.delivery import DeliverDocumentInput
    from schemas.errors import ReasonCode
    from schemas.events import (
        BillingCycleClosed,
        ContractActivated,
        ContractAmended,
        ContractEvent,
        ContractRenewed,
        MilestoneCompleted,
        key_prefix,
        workflow_id_for,
    )
    from schemas.invoice import Invoice
    from schemas.revenue import terms_of
    from schemas.runs import MEMO_KEY_OF, RunDocument, RunInput, RunState, RunStatus
    from schemas.steps import (
        RISK_LEVELS,
        ActivationFound,
        AmendmentDocuments,
        ComputeTaxInput,
        CorrectedInvoice,
        DraftAmendmentInput,
        DraftInvoiceInput,
        FetchContractInput,
        FetchUsageInput,
        FindActivationInput,
        FindCorrectedInput,
        FindFirstPeriodRunInput,
        FindRunInput,
        FirstPeriodRun,
        FoundRun,
        PostingResult,
        PostInvoiceInput,
        ReconcileInput,
        RouteDecision,
        RouteHistory,
        RouteHistoryInput,
        RouteInput,
        TaxedInvoice,
        ValidateCustomerInput,
        ValidatedCustomer,
    )
    from schemas.usage import UsageSummary
    from workflows.approval import APPROVE_HELP, DECIDE_HELP, REJECT_HELP, ApprovalWait
    from workflows.calls import (
        CALL_TIMEOUT,
        RETRY,
        NeedsAttention,
        call,
        record,
        stop_if_permanent,
    )
    from workflows.collection import (
        DISPUTE,
        DISPUTE_HELP,
        RECORD_PAYMENT,
        RECORD_PAYMENT_HELP,
        RESOLVE_DISPUTE,
        RESOLVE_HELP,
        CollectionWait,
    )
    from workflows.run_view import RunView
    from workflows.versioning import BuildFollower
    from workflows.whole_input import WHOLE_INPUT_BEFORE_BOUNDED

ERP_DOCUMENT_MEMO = "erp-document-memo"
"""Patch id: the ERP document number goes into the run's memo, shown in the UI's list."""
LOCAL_STEPS = "local-steps"
"""Patch id: rating, tax and routing run as local activities; the search attributes set in
one workflow task go up in one upsert; a `contract.amended` run bills a credit note for the
unused old terms and an invoice for the new ones."""
ROUTE_HISTORY = "route-history"
"""Patch id: the earlier invoices and usage that routing scores against are read by the
`fetch_route_history` activity on the task queue, and handed to `route`, which calls no system."""
COLLECTION = "collection"
"""Patch id: a run started with `collect` goes on after reconciling into collection (the
card schedule or the wait for a transfer, dunning on timers, disputes) and ends Paid,
WrittenOff or Refunded; runs recorded before it end at Posted."""
RUN_OUTCOMES = "run-outcomes"
"""Patch id: the workflow records every outcome it reaches (posted, needs attention with its
code) in the audit trail, with the state shown first; before it, the audit interceptor read
those off activity results, and a rejection was recorded before it was shown."""
DELIVERY = "delivery"
"""Patch id: after reconciling, the run delivers each document to the customer (state
`Delivering`, then `Delivered`): a credit note's corrected invoice is looked up in the ERP,
and `deliver_document` renders, checks and sends each one. Runs that reconciled before it
end `Posted`, as they did."""
REVENUE_DEFERRAL = "revenue-deferral"
"""Patch id: each document posts with its revenue schedule and the deferral journal (Dr
receivable / Cr deferred revenue / Cr revenue recognised at once), from the contract's
recognition terms; runs that posted before it posted the invoice journal alone."""
REVENUE_CREDITS = "revenue-credits"
"""Patch id: a credit note posts with a schedule that reverses what the invoice lines it
credits have still to recognise, from the credit's start (a termination stops them); runs
that posted a credit note before it scheduled it over its own period. Asked only of runs
that post a credit note, so no other run records its marker."""

REASON_CODE_ATTRIBUTE = "reason-code-attribute"
"""Patch id: a run that ends needing attention sets the `ReasonCode` search attribute, in the
upsert that shows the state, so the UI can list one cause (a failed delivery) on its own."""

# WHOLE_INPUT and WHOLE_INPUT_BEFORE_BOUNDED (workflows/whole_input.py), asked only when an
# input was cut, are not in `PATCHES_IN_LEAN_RUN`: a run that gets no oversized input carries
# no marker for them.

BOUNDED_INPUT = "bounded-input"
"""Patch id: an approver's name longer than an e-mail can be is refused (a decision the
run's commands follow). It first also cut a person's input (with its length and hash) before
the run kept it, and kept refused attempts to the latest few with a count
(schemas/bounded.py); every run does that now, begun before the patch or since: it changes
what a run stores, not its commands, and no input makes an old run's status, details or
result outgrow Temporal's payload limits either."""

ACTIVATION_BILLING = "activation-billing"
"""Patch id: a `contract.activated` run bills at once the first period's in-advance fees,
prorated from the start, and the one-time fees without a milestone (no usage is read); a
close or a change that may fall in the first period first asks the ERP whether an activation
invoice billed that period (`find_activation`), and then leaves those fees out, or prorates
the change. Runs begun before it bill the first period at its close, as they did."""
ACTIVATION_SETTLED = "activation-settled"
"""Patch id: an activation and a close (or change) of the first period that overlap bill its
in-advance fees once. Such a close that finds no activation invoice in the ERP looks up the
activation run; while that run is open (awaiting approval) it waits for it, polling, then
asks the ERP again. An activation that finds the first close's run open or posted leaves
the fees to it (nothing to bill), unless the ERP holds its own invoice (it was reset to its
first task after it posted: it goes on with that invoice). Each looks after its own start, so
of two that overlap at least one sees the other (workers/first_period.py)."""
ACTIVATION_OWN_INVOICE = "activation-own-invoice"
"""Patch id: an activation reset to its first task after it posted goes on with its own
invoice (the ERP's, under its posting key) even when the first close is open or posted.
Asked only of a run whose look-up found such an invoice, so no other run records its marker;
before it, such a run left the fees to the close (nothing to bill)."""
ACTIVATION_POLL = (timedelta(minutes=1), timedelta(hours=4))
"""How often a close asks whether the activation run has ended: from the first to the
second, doubling (a week's approval wait costs about fifty polls)."""
RENEWAL_ONCE = "renewal-once"
"""Patch id: a close and a renewal of the same period bill it once. A close of a contract with
terms, and any renewal, looks up the other's run (its business key with the other reason);
when that run is open or posted and began first, this one has nothing to bill."""
FIND_RUN = "find_run"
"""`workers.first_period.RunLookup.find_run`, by name."""
FIND_FIRST_PERIOD_RUN = "find_first_period_run"
"""`workers.first_period.RunLookup.find_first_period_run`, by name: it holds the client."""
FIRST_PERIOD_BOUND = {"monthly": 62, "quarterly": 124, "annual": 403}
"""Days after a contract's start beyond which no run is in its first period: the interval's
months of 31 days, and a month more for a bill-cycle day or an anniversary that shifts it."""

LEAN_RUN = "lean-run"
"""Patch id: one marker stands for the patches in `PATCHES_IN_LEAN_RUN` (a run begun since
has them all; the rarer ones above keep their own marker), and
while the run only passes through its steps the search attributes wait for its next wait
or its end: a straight-through run writes two upserts (the SDK's `TemporalChangeVersion`
for this marker, the end) instead of eleven. The `status` query and the current details
still show every step."""
PATCHES_IN_LEAN_RUN = (
    LOCAL_STEPS,
    ROUTE_HISTORY,
    COLLECTION,
    RUN_OUTCOMES,
    DELIVERY,
    BOUNDED_INPUT,
    REVENUE_DEFERRAL,
)

OUTCOME_OF_STATE = {
    RunState.POSTED: Outcome.POSTED,
    RunState.DELIVERED: Outcome.DELIVERED,
    RunState.REJECTED: Outcome.REJECTED,
    RunState.NEEDS_ATTENTION: Outcome.NEEDS_ATTENTION,
    RunState.NOTHING_TO_BILL: Outcome.NOTHING_TO_BILL,
    RunState.PAID: Outcome.PAID,
    RunState.WRITTEN_OFF: Outcome.WRITTEN_OFF,
    RunState.REFUNDED: Outcome.REFUNDED,
}


def _posting_key(event: ContractEvent, document: Invoice) -> str:
    """The ERP posting key: the run's id, and for a credit note a suffix of its own."""
    key = workflow_id_for(event)
    return f"{key}:credit-note" if document.document_type == "credit_note" else key


@workflow.defn(name="QuoteToCash")
class QuoteToCashWorkflow:
    @workflow.init
    def __init__(self, input: RunInput) -> None:
        self._status = RunStatus(state=RunState.RECEIVED, contract_id=input.event.contract_id)
        self._view = RunView(self._status)
        # Decided here, before any handler runs: a signal may come in the first task. Runs
        # begun before `lean-run` replay the markers they recorded: see docs/operations.md,
        # "Changing the workflow".
        self._lean = workflow.patched(LEAN_RUN)
        self._view.bounded = self._patched(BOUNDED_INPUT)
        if not self._view.bounded:
            self._view.whole.patch_id = WHOLE_INPUT_BEFORE_BOUNDED
        self._approval = ApprovalWait(self._view, input)
        self._collection = CollectionWait(self._view, self._approval)
        self._local_steps = False
        self._build = BuildFollower()
        # Whether the run's invoice may bill the first period's in-advance fees: the ERP is
        # asked again at posting time (activities/erp.py), so a reset run bills them once.
        self._first_period_fees = False

    @workflow.run
    async def run(self, input: RunInput) -> RunStatus:
        self._view.hold_passing = self._lean
        self._local_steps = self._patched(LOCAL_STEPS)
        self._view.batch_upserts = self._local_steps
        try:
            final, step = await self._bill(input), ""
        except NeedsAttention as stop:
            self._status.reason_code = stop.code
            self._status.reason = stop.reason
            final, step = RunState.NEEDS_ATTENTION, stop.step
        await self._settle(final, step=step)
        self._view.flush()
        await self._view.whole.settled()
        return self._status

    async def _bill(self, input: RunInput) -> RunState:
        """The run's steps, up to the state it ends in."""
        event = input.event
        amendment = event if self._local_steps and isinstance(event, ContractAmended) else None
        activation = isinstance(event, ContractActivated) and workflow.patched(ACTIVATION_BILLING)
        self._first_period_fees = activation
        # An activation bills the terms in force on the first day, not later ones.
        as_of = event.period_start if amendment is not None or activation else None
        validated = await self._validate(event, as_of)
        contract = validated.contract
        usage: UsageSummary | None = None
        if amendment is not None:
            drafts = await self._draft_amendment(amendment, contract)
        else:
            billed = False
            billed_by = await self._same_period_run(event, contract)
            if billed_by:
                self._status.reason = billed_by
                return RunState.NOTHING_TO_BILL
            if activation and workflow.patched(ACTIVATION_SETTLED):
                close = await self._first_period_run(contract, "cycle")
                # This run's own invoice in the ERP: it was reset after it posted, and goes on
                # (posting the same invoice again gives back the same document).
                own = bool(close.posted_by_caller) and workflow.patched(ACTIVATION_OWN_INVOICE)
                if (close.open or close.posted) and not own:
                    self._status.reason = (
                        f"the first period's close ({close.workflow_id}) bills its in-advance "
                        "and one-time fees: nothing to bill at activation"
                    )
                    return RunState.NOTHING_TO_BILL
            if not activation and not isinstance(event, MilestoneCompleted):
                billed = await self._activation_billed(event, contract)
            if activation:
                # The activation bills fees only: no usage to read yet.
                read = UsageSummary(
                    contract_id=contract.id,
                    period_start=event.period_start,
                    period_end=event.period_end,
                )
            else:
                self._view.set_state(RunState.FETCHING_USAGE)
                usage = read = await self._call(
                    UsageActivities.fetch_usage,
                    FetchUsageInput.for_contract(
                        contract, period_start=event.period_start, period_end=event.period_end
                    ),
                )
            self._view.set_state(RunState.RATING)
            drafts = [
                await self._step(
                    BillingActivities.draft_invoice,
                    DraftInvoiceInput(
                        contract=contract,
                        usage=read,
                        period_start=event.period_start,
                        period_end=event.period_end,
                        invoice_id=event.business_key,
                        milestone_id=getattr(event, "milestone_id", None),
                        activation=activation,
                        activation_billed=billed,
                    ),
                )
            ]
            if activation and not drafts[0].lines:
                self._status.reason = (
                    "the contract has no in-advance or one-time fee to bill at activation"
                )
                return RunState.NOTHING_TO_BILL
        if not drafts:
            self._status.reason = "the change moves no fee billed in advance: nothing to post"
            return RunState.NOTHING_TO_BILL
        taxed = await self._tax(event, drafts, validated.customer)
        approval = await self._route(event, validated, usage, taxed)
        if approval is not None:
            await self._build.before_long_wait()
            rejection = await self._approval.wait(approval)
            if rejection is not None:
                self._status.reason_code = ReasonCode.REJECTED
                self._status.reason = f"rejected by {rejection.approver}: {rejection.comment}"
                return RunState.REJECTED
        await self._post(contract, billed_at=event.occurred_at)
        await self._reconcile()
        delivered = self._patched(DELIVERY)
        if delivered:
            await self._deliver(validated)
        if input.collect and self._patched(COLLECTION):
            await self._build.before_long_wait()
            return await self._collect(validated)
        return RunState.DELIVERED if delivered else RunState.POSTED

    async def _validate(self, event: ContractEvent, as_of: date | None) -> ValidatedCustomer:
        self._view.set_state(RunState.VALIDATING)
        validated: ValidatedCustomer = await self._call(
            CrmActivities.validate_customer,
            ValidateCustomerInput(contract_id=event.contract_id, as_of=as_of),
        )
        customer = validated.customer
        if validated.vies_check:
            vies = await self._call(
                ViesActivities.check_vat, ViesCheckInput(vat_number=customer.tax_id)
            )
            validated.problems.extend(vies.problems)
        self._status.customer_id = customer.id
        self._status.problems = validated.problems
        self._view.upsert(sa.CUSTOMER_ID.value_set(customer.id))
        if validated.blocking:
            raise NeedsAttention(
                ReasonCode.CUSTOMER_INVALID,
                "; ".join(f"{p.field}: {p.message}" for p in validated.blocking),
                step="validate_customer",
            )
        return validated

    async def _tax(
        self, event: ContractEvent, drafts: list[Invoice], customer: Customer
    ) -> list[TaxedInvoice]:
        """Each draft taxed becomes one of the run's documents."""
        self._view.set_state(RunState.TAXING)
        taxed: list[TaxedInvoice] = []
        for draft in drafts:
            result: TaxedInvoice = await self._step(
                BillingActivities.compute_tax, ComputeTaxInput(invoice=draft, customer=customer)
            )
            taxed.append(result)
            self._status.documents.append(
                RunDocument.of(result.invoice, posting_key=_posting_key(event, result.invoice))
            )
        self._show_total()
        return taxed

    async def _route(
        self,
        event: ContractEvent,
        validated: ValidatedCustomer,
        usage: UsageSummary | None,
        taxed: list[TaxedInvoice],
    ) -> ApprovalRequirement | None:
        """What the approver policy demands, or None when the run goes straight through."""
        self._view.set_state(RunState.ROUTING)
        history: RouteHistory | None = None
        if self._patched(ROUTE_HISTORY):
            drafted = [d.invoice for d in self._status.documents]
            history = await self._call(
                RoutingActivities.fetch_route_history,
                RouteHistoryInput.like(
                    drafted[0],
                    reason=event.reason,
                    exclude=[d.invoice_id for d in drafted],
                    metrics=sorted(usage.quantities) if usage is not None else [],
                ),
            )
        doubts = list(dict.fromkeys(r for t in taxed for r in t.uncertain_reasons))
        routes: list[RouteDecision] = [
            await self._step(
                RoutingActivities.route,
                RouteInput(
                    invoice=document.invoice,
                    contract=validated.contract,
                    customer=validated.customer,
                    problems=validated.problems,
                    tax_uncertain=any(t.uncertain for t in taxed),
                    tax_uncertain_reasons=doubts,
                    usage=usage,
                    history=history,
                ),
            )
            for document in self._status.documents
        ]
        # A contract-level reason (a clause, a manual price) comes with each of an
        # amendment's two documents; a person needs to read it once.
        unique = {(r.code, r.message): r for route in routes for r in route.reasons}
        self._status.route_reasons = list(unique.values())
        self._status.risk_level = max((r.risk_level for r in routes), key=RISK_LEVELS.index)
        self._view.upsert(sa.RISK_LEVEL.value_set(self._status.risk_level))
        if not unique:
            return None
        approval = next((r.approval for r in routes if r.approval is not None), None)
        if approval is None:
            raise NeedsAttention(
                ReasonCode.CONFIGURATION,
                "the route needs approval but names no policy",
                step="route",
            )
        return approval

    async def _post(self, contract: Contract, *, billed_at: datetime) -> None:
        """Each document once to the ERP (its posting key makes a retry harmless); the
        deferral's billing month is the event's."""
        self._view.set_state(RunState.POSTING)
        deferral = self._patched(REVENUE_DEFERRAL)
        revenue = terms_of(contract, billed_at=billed_at) if deferral else None
        for document in self._status.documents:
            terms = revenue
            if (
                terms is not None
                and document.document_type == "credit_note"
                and workflow.patched(REVENUE_CREDITS)
            ):
                terms = terms.model_copy(update={"match_credits": True})
            posting: PostingResult = await self._call(
                ErpActivities.post_invoice,
                PostInvoiceInput(
                    posting_key=document.posting_key,
                    invoice=document.invoice,
                    revenue=terms,
                    first_period=self._first_period_fees,
                ),
            )
            document.erp_document_id = posting.erp_document_id
            if posting.posted_at is not None:
                document.issue_date = posting.posted_at.date()
        if self._local_steps or workflow.patched(ERP_DOCUMENT_MEMO):
            # Runs that posted before this change have no memo command here: see
            # docs/operations.md, "Changing the workflow".
            workflow.upsert_memo(
                {MEMO_KEY_OF[d.document_type]: d.erp_document_id for d in self._status.documents}
            )

    async def _reconcile(self) -> None:
        """Each document read back from the ERP; a difference stops the run for a person."""
        self._view.set_state(RunState.RECONCILING)
        for document in self._status.documents:
            reconciled = await self._call(
                ErpActivities.reconcile,
                ReconcileInput.of(document.posting_key, document.invoice),
            )
            if not reconciled.matched:
                raise NeedsAttention(
                    ReasonCode.RECONCILE_MISMATCH,
                    f"ERP differs from the {document.label}: "
                    + "; ".join(
                        f"{d.field}: expected {d.expected}, found {d.found}"
                        for d in reconciled.differences
                    ),
                    step="reconcile",
                )

    async def _deliver(self, validated: ValidatedCustomer) -> None:
        """Each document rendered, checked and sent to the customer, once per posting key;
        a document that fails the EN 16931 rules, or an address that refuses it, stops the
        run for a person with nothing (more) sent."""
        self._view.set_state(RunState.DELIVERING)
        run_id = workflow.info().workflow_id
        for document in self._status.documents:
            if document.document_type == "credit_note" and not document.corrects:
                corrected: CorrectedInvoice = await self._call(
                    ErpActivities.find_corrected_invoice,
                    FindCorrectedInput(
                        credit_note=document.invoice,
                        exclude=[d.posting_key for d in self._status.documents],
                    ),
                )
                document.corrects = corrected.erp_document_id
                corrected_on = corrected.issue_date
            else:
                corrected_on = None
            # A run posted by a worker that did not keep the ERP's time: the day it delivers.
            issue_date = document.issue_date or workflow.now().date()
            document.issue_date = issue_date
            document.delivery = await self._call(
                DocumentActivities.deliver_document,
                DeliverDocumentInput(
                    run_id=run_id,
                    delivery_key=document.posting_key,
                    invoice=document.invoice,
                    erp_document_id=document.erp_document_id,
                    posting_key=document.posting_key,
                    customer=validated.customer,
                    terms=validated.contract.document_terms,
                    issue_date=issue_date,
                    preceding_invoice=document.corrects,
                    preceding_invoice_date=corrected_on,
                ),
            )
            self._view.refresh_details()

    async def _draft_amendment(self, event: ContractAmended, contract: Contract) -> list[Invoice]:
        """A mid-period change: the unused part of the old terms' in-advance fees comes back
        on a credit note, the new terms are invoiced for the rest of the period."""
        previous = await self._call(
            CrmActivities.fetch_contract,
            FetchContractInput(
                contract_id=event.contract_id, as_of=event.period_start - timedelta(days=1)
            ),
        )
        billed = await self._activation_billed(event, previous)
        self._view.set_state(RunState.RATING)
        drafted: AmendmentDocuments = await self._step(
            BillingActivities.draft_amendment,
            DraftAmendmentInput(
                previous_contract=previous,
                contract=contract,
                change_date=event.period_start,
                invoice_id=event.business_key,
                credit_note_id=f"{event.business_key}:credit-note",
                activation_billed=billed,
            ),
        )
        return [d for d in (drafted.credit_note, drafted.invoice) if d is not None]

    async def _activation_billed(self, event: ContractEvent, contract: Contract) -> bool:
        """Whether an activation invoice billed the first period's in-advance and one-time
        fees, for a run that may fall in that period (asked of the ERP, so the answer is in
        the history)."""
        bound = timedelta(days=FIRST_PERIOD_BOUND[contract.billing_interval])
        if event.period_start - contract.start_date > bound:
            return False
        if not workflow.patched(ACTIVATION_BILLING):
            return False
        found: ActivationFound = await self._call(
            ErpActivities.find_activation,
            FindActivationInput(contract=contract, as_of=event.period_start),
        )
        self._first_period_fees = not found.billed
        if found.billed or not workflow.patched(ACTIVATION_SETTLED):
            return found.billed
        if not await self._waited_for_activation(contract, event.period_start):
            return False
        found = await self._call(
            ErpActivities.find_activation,
            FindActivationInput(contract=contract, as_of=event.period_start),
        )
        self._first_period_fees = not found.billed
        return found.billed

    async def _waited_for_activation(self, contract: Contract, as_of: date) -> bool:
        """Waits while the contract's activation run is open, when `as_of` is in the first
        period; False when there is none (or it is a later period)."""
        delay, longest = ACTIVATION_POLL
        shown = self._status.state
        while True:
            run = await self._first_period_run(contract, "activation", as_of=as_of)
            if not run.open:
                break
            if self._status.state is not RunState.AWAITING_ACTIVATION:
                self._status.reason = (
                    f"waiting for the activation run {run.workflow_id} to end, so the first "
                    "period's in-advance fees are billed once"
                )
                self._view.set_state(RunState.AWAITING_ACTIVATION)
                self._view.flush()
            await workflow.sleep(delay)
            delay = min(delay * 2, longest)
        if self._status.state is RunState.AWAITING_ACTIVATION:
            self._status.reason = ""
            self._view.set_state(shown)
        return bool(run.workflow_id)

    async def _same_period_run(self, event: ContractEvent, contract: Contract) -> str:
        """Why this run has nothing to bill when the renewal (for a close) or the close (for a
        renewal) of the same period began before it and is open or posted; else empty."""
        if not isinstance(event, ContractRenewed | BillingCycleClosed):
            return ""
        other = "cycle" if isinstance(event, ContractRenewed) else "renewal"
        if other == "renewal" and contract.term_months is None:
            return ""
        if not workflow.patched(RENEWAL_ONCE):
            return ""
        workflow_id = (
            f"q2c:{key_prefix(event.contract_id, other)}{event.period_start}:{event.period_end}"
        )
        self._view.before_call()
        found: FoundRun = await workflow.execute_activity(
            FIND_RUN,
            FindRunInput(workflow_id=workflow_id),
            start_to_close_timeout=CALL_TIMEOUT,
            retry_policy=RETRY,
            result_type=FoundRun,
        )
        mine = workflow.info()
        if not (found.open or found.posted) or found.started_at is None:
            return ""
        if (found.started_at, found.workflow_id) > (mine.start_time, mine.workflow_id):
            return ""  # it began later: it sees this run and leaves the period to it
        return (
            f"the period {event.period_start} to {event.period_end} was already billed by "
            f"{found.workflow_id}: nothing to bill"
        )

    async def _first_period_run(
        self,
        contract: Contract,
        reason: Literal["activation", "cycle"],
        *,
        as_of: date | None = None,
    ) -> FirstPeriodRun:
        self._view.before_call()
        run: FirstPeriodRun = await workflow.execute_activity(
            FIND_FIRST_PERIOD_RUN,
            FindFirstPeriodRunInput(contract=contract, reason=reason, as_of=as_of),
            start_to_close_timeout=CALL_TIMEOUT,
            retry_policy=RETRY,
            result_type=FirstPeriodRun,
        )
        return run

    async def _collect(self, validated: ValidatedCustomer) -> RunState:
        """From the posted invoice to cash: workflows/collection.py."""
        return await self._collection.collect(validated.customer, validated.contract)

    def _show_total(self) -> None:
        """The invoice (or, alone, the credit note) is the run's total."""
        shown = self._status.document("invoice") or self._status.document("credit_note")
        assert shown is not None
        self._status.total = shown.invoice.total
        self._status.currency = shown.invoice.currency
        self._view.upsert(sa.INVOICE_TOTAL.value_set(float(shown.invoice.total)))

    async def _settle(self, state: RunState, *, step: str) -> None:
        """Show the state the run ends in, and record it as the run's outcome: the workflow
        is the one author of outcomes in the audit trail."""
        rejection = next((d for d in self._status.decisions if d.verdict == "reject"), None)
        outcome = HandoffInput(
            step=Step.OUTCOME,
            outcome=OUTCOME_OF_STATE[state],
            reason_code=self._status.reason_code,
            decided_by=rejection.approver if rejection and state is RunState.REJECTED else "",
            at=workflow.now(),
            detail=self._status.reason,
            source_step=step,
        )
        if state is RunState.NEEDS_ATTENTION and workflow.patched(REASON_CODE_ATTRIBUTE):
            self._view.upsert(sa.REASON_CODE.value_set(self._status.reason_code))
        # Before RUN_OUTCOMES only a rejection and nothing-to-bill were recorded here, the
        # rejection before it was shown: runs begun then replay exactly that.
        if state is RunState.REJECTED and not self._patched(RUN_OUTCOMES):
            await record(self._view, outcome)
            self._view.set_state(state)
            return
        self._view.set_state(state)
        if state is RunState.NOTHING_TO_BILL or self._patched(RUN_OUTCOMES):
            await record(self._view, outcome)

    def _patched(self, patch_id: str) -> bool:
        """A patch that `lean-run` stands for is on in a lean run without a marker of its
        own; a run begun before it replays the markers it recorded."""
        if self._lean and patch_id in PATCHES_IN_LEAN_RUN:
            return True
        return workflow.patched(patch_id)

    async def _call(self, activity: Any, arg: Any) -> Any:
        """An activity on the task queue: for calls to the systems of record."""
        return await call(self._view, activity, arg)

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
            stop_if_permanent(error.cause, step=activity.__name__)
            raise
        except ApplicationError as error:  # a local activity's failure can arrive unwrapped
            stop_if_permanent(error, step=activity.__name__)
            raise

    # Handlers: the names and descriptions are what the Web UI and the CLI show and send.

    @workflow.signal(name="approve", description=APPROVE_HELP)
    def approve(self, payload: RawValue) -> None:
        self._approval.receive_signal("approve", payload)

    @workflow.signal(name="reject", description=REJECT_HELP)
    def reject(self, payload: RawValue) -> None:
        self._approval.receive_signal("reject", payload)

    @workflow.update(name="decide", description=DECIDE_HELP)
    def decide(self, decision: Decision) -> RunStatus:
        if self._approval.accept(decision.verdict, decision.approver, decision.comment):
            self._view.whole.update("decide", len(decision.comment))
        return self._status

    @decide.validator
    def _validate_decide(self, decision: Decision) -> None:
        refusal = self._approval.refusal(decision.verdict, decision.approver)
        if refusal is not None:
            raise ValueError(refusal)

    @workflow.signal(name=RECORD_PAYMENT, description=RECORD_PAYMENT_HELP)
    def record_payment_signal(self, payload: RawValue) -> None:
        self._collection.receive_signal(RECORD_PAYMENT, payload, PaymentNotice)

    @workflow.update(name=RECORD_PAYMENT, description="Record a payment; answers what was applied.")
    async def record_payment(self, payment: RecordPayment) -> CollectionAnswer:
        return await self._collection.take(payment.root)

    @record_payment.validator
    def _validate_record_payment(self, payment: RecordPayment) -> None:
        refusal = self._collection.refusal(payment.root)
        if refusal is not None:
            raise ValueError(refusal)

    @workflow.signal(name=DISPUTE, description=DISPUTE_HELP)
    def dispute_signal(self, payload: RawValue) -> None:
        self._collection.receive_signal(DISPUTE, payload, DisputeNotice)

    @workflow.update(name=DISPUTE, description="Open (or, from the provider, close) a dispute.")
    async def dispute(self, dispute: RaiseDispute) -> CollectionAnswer:
        return await self._collection.take(dispute.root)

    @dispute.validator
    def _validate_dispute(self, dispute: RaiseDispute) -> None:
        refusal = self._collection.refusal(dispute.root)
        if refusal is not None:
            raise ValueError(refusal)

    @workflow.signal(name=RESOLVE_DISPUTE, description=RESOLVE_HELP)
    def resolve_dispute_signal(self, payload: RawValue) -> None:
        self._collection.receive_signal(RESOLVE_DISPUTE, payload, DisputeResolution)

    @workflow.update(name=RESOLVE_DISPUTE, description="End the open dispute: upheld or credited.")
    async def resolve_dispute(self, resolution: DisputeResolution) -> CollectionAnswer:
        return await self._collection.take(resolution)

    @resolve_dispute.validator
    def _validate_resolve_dispute(self, resolution: DisputeResolution) -> None:
        refusal = self._collection.resolve_refusal(resolution)
        if refusal is not None:
            raise ValueError(refusal)

    @workflow.query(name="status", description="Where the run is, and why.")
    def status(self) -> RunStatus:
        return self._status
