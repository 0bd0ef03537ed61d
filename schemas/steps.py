"""One model in, one model out, for every activity."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, Self

from pydantic import BaseModel, Field, model_validator

from schemas.approvals import ApprovalRequirement
from schemas.contract import Contract
from schemas.customer import Customer
from schemas.invoice import Invoice
from schemas.money import Amount, CurrencyCode
from schemas.older_inputs import read_older_shape
from schemas.revenue import RevenueTerms
from schemas.runs import Problem, RouteReason
from schemas.usage import UsageSummary


class ValidateCustomerInput(BaseModel):
    contract_id: str
    as_of: date | None = Field(
        default=None, description="Validate the terms in force on this day; the latest if None"
    )


class FetchContractInput(BaseModel):
    contract_id: str
    as_of: date = Field(description="The day whose terms are wanted")


class ValidatedCustomer(BaseModel):
    contract: Contract
    customer: Customer
    problems: list[Problem] = Field(default_factory=list)
    vies_check: bool = Field(
        default=False, description="Check the VAT number online (VIES) before billing"
    )

    @property
    def blocking(self) -> list[Problem]:
        return [p for p in self.problems if p.blocking]


class FetchUsageInput(BaseModel):
    """What the usage step reads of the contract: its id and its usage metrics. Every input
    stays in the run's history, and its bytes cost the server on every run (BENCHMARKS.md,
    "Bytes per run"), so a step gets the fields it needs, not the whole contract."""

    contract_id: str = Field(min_length=1)
    metrics: list[str] = Field(description="The contract's usage metrics; none: nothing to read")
    period_start: date
    period_end: date

    @classmethod
    def for_contract(cls, contract: Contract, *, period_start: date, period_end: date) -> Self:
        return cls(
            contract_id=contract.id,
            metrics=_usage_metrics(contract),
            period_start=period_start,
            period_end=period_end,
        )

    @model_validator(mode="before")
    @classmethod
    def _scheduled_with_the_contract(cls, data: Any) -> Any:
        """An input scheduled by a worker from before this shape carries the whole contract."""
        return read_older_shape(data, old="contract", new="contract_id", convert=_usage_fields)


def _usage_fields(recorded: Any) -> dict[str, Any]:
    contract = Contract.model_validate(recorded)
    return {"contract_id": contract.id, "metrics": _usage_metrics(contract)}


def _usage_metrics(contract: Contract) -> list[str]:
    return sorted({c.metric for c in contract.charges if c.kind == "usage" and c.metric})


class DraftInvoiceInput(BaseModel):
    contract: Contract
    usage: UsageSummary
    period_start: date
    period_end: date
    invoice_id: str
    milestone_id: str | None = None
    activation: bool = Field(
        default=False,
        description="The activation run: the first period's in-advance and one-time fees only",
    )
    activation_billed: bool = Field(
        default=False,
        description="An activation invoice billed the first period's in-advance and one-time fees",
    )


class DraftAmendmentInput(BaseModel):
    """A mid-period change: the terms before and from `change_date`, in its billing period."""

    previous_contract: Contract
    contract: Contract
    change_date: date
    invoice_id: str
    credit_note_id: str
    activation_billed: bool = Field(
        default=False,
        description="An activation invoice billed the first period: a change in it is prorated",
    )


class AmendmentDocuments(BaseModel):
    """What a change bills: either, both or neither (an in-arrears-only change)."""

    invoice: Invoice | None = Field(default=None, description="The new terms' in-advance fees")
    credit_note: Invoice | None = Field(
        default=None, description="The unused part of the old terms' in-advance fees"
    )


class ComputeTaxInput(BaseModel):
    invoice: Invoice
    customer: Customer


class TaxedInvoice(BaseModel):
    invoice: Invoice
    uncertain: bool = False
    uncertain_reasons: list[str] = Field(default_factory=list, description="Why, one each")


class PastInvoice(BaseModel):
    """One earlier document in the ERP, as routing compares with it."""

    invoice_id: str
    period_start: date
    period_end: date
    total: Decimal
    currency: str


class RouteHistoryInput(BaseModel):
    """The earlier documents routing compares a run's documents with: the same customer,
    contract, reason and currency as the run's first document, for periods that start
    before its own. Those fields only, not the document (see `FetchUsageInput`)."""

    customer_id: str = Field(min_length=1)
    contract_id: str = Field(min_length=1)
    currency: CurrencyCode
    before: date = Field(description="The run's period start")
    reason: str = Field(
        description="The event's reason (cycle, milestone…): a one-time milestone fee says "
        "nothing about a monthly invoice"
    )
    exclude: list[str] = Field(description="This run's own document ids (a retry posted them)")
    metrics: list[str] = Field(description="Usage metrics to read for those documents' periods")

    @classmethod
    def like(
        cls, document: Invoice, *, reason: str, exclude: list[str], metrics: list[str]
    ) -> Self:
        return cls(**_header_of(document), reason=reason, exclude=exclude, metrics=metrics)

    @model_validator(mode="before")
    @classmethod
    def _scheduled_with_the_document(cls, data: Any) -> Any:
        """An input scheduled by a worker from before this shape carries the whole document
        as `like`."""
        return read_older_shape(
            data,
            old="like",
            new="customer_id",
            convert=lambda like: _header_of(Invoice.model_validate(like)),
        )


def _header_of(document: Invoice) -> dict[str, Any]:
    return {
        "customer_id": document.customer_id,
        "contract_id": document.contract_id,
        "currency": document.currency,
        "before": document.period_start,
    }


class RouteHistory(BaseModel):
    """Earlier documents, the most recent first, and the usage in the periods they billed."""

    invoices: list[PastInvoice] = Field(default_factory=list)
    usage: list[UsageSummary] = Field(default_factory=list)


class RouteInput(BaseModel):
    invoice: Invoice
    contract: Contract
    customer: Customer
    problems: list[Problem] = Field(default_factory=list)
    tax_uncertain: bool = False
    tax_uncertain_reasons: list[str] = Field(
        default_factory=list, description="The tax engine's reasons, shown to the approver"
    )
    usage: UsageSummary | None = Field(
        default=None, description="This period's usage, scored against earlier periods"
    )
    history: RouteHistory | None = Field(
        default=None, description="What the scores stand on; None: not read (no scores)"
    )


class AnomalyScore(BaseModel):
    """One metric scored against the customer's history: the reason explains itself."""

    metric: str
    observed: Decimal
    median: Decimal
    expected_low: Decimal
    expected_high: Decimal
    score: Decimal | None = Field(description="Modified z-score; None when it is unbounded")
    history: int = Field(description="How many earlier values the score stands on")
    anomalous: bool


RISK_LEVELS = ("low", "medium", "high")
"""A route's risk levels, lowest first."""


class RouteDecision(BaseModel):
    reasons: list[RouteReason] = Field(default_factory=list)
    risk_level: str = Field(default="low", description="low, medium or high")
    approvers: list[str] = Field(default_factory=list, description="Who may decide, in order")
    policy_version: str = ""
    model_version: str = Field(default="", description="The anomaly model that scored")
    scores: list[AnomalyScore] = Field(default_factory=list)
    notes: list[str] = Field(
        default_factory=list, description="What was not scored, and why (e.g. no history)"
    )
    approval: ApprovalRequirement | None = None


class NotifyInput(BaseModel):
    """A reminder, an escalation or an expiry, sent to the approvers."""

    kind: str = Field(description="reminder, escalation or expired")
    workflow_id: str
    summary: str
    approvers: list[str] = Field(default_factory=list)
    due_at: datetime | None = None


class PostInvoiceInput(BaseModel):
    posting_key: str
    invoice: Invoice
    revenue: RevenueTerms | None = Field(
        default=None,
        description="With terms, the deferral (and the revenue schedule) posts with the "
        "document; runs recorded before revenue recognition post without",
    )
    first_period: bool = Field(
        default=False,
        description="The invoice may bill the first period's in-advance fees (an activation, "
        "or a close that found no activation invoice): before posting, the ERP is asked "
        "whether another invoice of the contract bills one of its lines already",
    )


class PostingResult(BaseModel):
    posting_key: str
    erp_document_id: str
    already_posted: bool = Field(description="True when a retry found the ERP had committed")
    posted_at: datetime | None = Field(
        default=None,
        description="When the ERP posted it (its issue date); None in runs "
        "recorded before the ERP's time was kept",
    )


class ExpectedLine(BaseModel):
    charge_id: str
    amount: Amount


class ReconcileInput(BaseModel):
    """What reconciling compares with the ERP's record: the posted document's currency,
    lines and totals, not the whole invoice again (BENCHMARKS.md, "Bytes per run")."""

    posting_key: str = Field(min_length=1)
    currency: CurrencyCode
    lines: list[ExpectedLine]
    subtotal: Amount
    tax_total: Amount
    total: Amount

    @classmethod
    def of(cls, posting_key: str, invoice: Invoice) -> Self:
        return cls.model_validate({"posting_key": posting_key} | _expected(invoice))

    @model_validator(mode="before")
    @classmethod
    def _scheduled_with_the_invoice(cls, data: Any) -> Any:
        """An input scheduled by a worker from before this shape carries the whole invoice."""
        return read_older_shape(
            data,
            old="invoice",
            new="currency",
            convert=lambda invoice: _expected(Invoice.model_validate(invoice)),
        )


def _expected(invoice: Invoice) -> dict[str, Any]:
    return {
        "currency": invoice.currency,
        "lines": [{"charge_id": line.charge_id, "amount": line.amount} for line in invoice.lines],
        "subtotal": invoice.subtotal,
        "tax_total": invoice.tax_total,
        "total": invoice.total,
    }


class Difference(BaseModel):
    field: str
    expected: str
    found: str


class ReconcileResult(BaseModel):
    matched: bool
    differences: list[Difference] = Field(default_factory=list)
    erp_total: Amount | None = None


class FindCorrectedInput(BaseModel):
    """A credit note, to find the posted invoice whose fees it gives back."""

    credit_note: Invoice
    exclude: list[str] = Field(description="This run's own posting keys")


class CorrectedInvoice(BaseModel):
    """BT-25 and BT-26 of a credit note; empty when the ERP holds no such invoice."""

    erp_document_id: str = ""
    issue_date: date | None = None


class FindActivationInput(BaseModel):
    """Whether the contract's activation invoice billed the billing period holding `as_of`."""

    contract: Contract
    as_of: date


class ActivationFound(BaseModel):
    """The posted activation invoice of that period; empty when the ERP holds none."""

    erp_document_id: str = ""
    posting_key: str = ""

    @property
    def billed(self) -> bool:
        return bool(self.erp_document_id)


class FindFirstPeriodRunInput(BaseModel):
    """The contract's run of `reason` for its first billing period: its activation, or the
    close of the period its start falls in."""

    contract: Contract
    reason: Literal["activation", "cycle"]
    as_of: date | None = Field(
        default=None, description="Look only when this day is in the first period (None: do)"
    )


class FirstPeriodRun(BaseModel):
    """That run as Temporal knows it; an empty `workflow_id` when there is none."""

    workflow_id: str = ""
    open: bool = Field(default=False, description="Still running (e.g. awaiting approval)")
    posted: bool = Field(default=False, description="Ended having posted a document")
    posted_by_caller: str = Field(
        default="",
        description="The ERP document the asking run posted under its own id, when that run "
        "existed (a run reset to its first task after it posted); empty when none",
    )


class FindRunInput(BaseModel):
    workflow_id: str


class FoundRun(BaseModel):
    """A run as Temporal knows it; an empty `workflow_id` when there is none."""

    workflow_id: str = ""
    open: bool = False
    posted: bool = False
    started_at: datetime | None = None
