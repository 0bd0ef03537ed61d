"""A billing run's input, its visible status, and its result."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from schemas.approvals import RecordedDecision, RefusedAttempt
from schemas.collection import CollectionProgress
from schemas.delivery import DeliveryResult
from schemas.events import ContractEvent
from schemas.invoice import Invoice
from schemas.money import Amount


class RunState(StrEnum):
    """Every state a run passes; also the `Q2CStatus` search attribute's values."""

    RECEIVED = "Received"
    VALIDATING = "Validating"
    FETCHING_USAGE = "FetchingUsage"
    RATING = "Rating"
    TAXING = "Taxing"
    ROUTING = "Routing"
    AWAITING_APPROVAL = "AwaitingApproval"
    AWAITING_ACTIVATION = "AwaitingActivation"
    """A close or change in the contract's first period waits for the activation run (awaiting
    approval) to end, so the first period's in-advance fees are billed once."""
    POSTING = "Posting"
    RECONCILING = "Reconciling"
    POSTED = "Posted"
    """Where a run ended before the delivery phase; a run begun since goes on to deliver."""
    DELIVERING = "Delivering"
    DELIVERED = "Delivered"
    """Every document posted, reconciled and sent to the customer."""
    REJECTED = "Rejected"
    NEEDS_ATTENTION = "NeedsAttention"
    NOTHING_TO_BILL = "NothingToBill"
    """An amendment that moves no fee billed in advance: no document to post."""
    AWAITING_PAYMENT = "AwaitingPayment"
    """Posted and collecting: not yet due, or being charged on the card schedule."""
    PARTIALLY_PAID = "PartiallyPaid"
    """Part of the amount paid, the rest not yet past due."""
    OVERDUE = "Overdue"
    """Past due with an amount still owed: dunning levels fire on their timers."""
    DISPUTED = "Disputed"
    """The customer disputes the invoice: dunning waits for the dispute's resolution."""
    PAID = "Paid"
    WRITTEN_OFF = "WrittenOff"
    REFUNDED = "Refunded"
    """A credit note alone (a termination): credited to the customer, nothing to collect."""

    @property
    def settled(self) -> bool:
        """The run has ended in this state."""
        return self in {
            RunState.POSTED,
            RunState.DELIVERED,
            RunState.REJECTED,
            RunState.NEEDS_ATTENTION,
            RunState.NOTHING_TO_BILL,
            RunState.PAID,
            RunState.WRITTEN_OFF,
            RunState.REFUNDED,
        }

    @property
    def collecting(self) -> bool:
        """Posted, and waiting for its money."""
        return self in COLLECTING


COLLECTING = frozenset(
    {RunState.AWAITING_PAYMENT, RunState.PARTIALLY_PAID, RunState.OVERDUE, RunState.DISPUTED}
)
POSTED_OR_BEYOND = frozenset(
    {
        RunState.POSTED,
        RunState.DELIVERING,
        RunState.DELIVERED,
        RunState.PAID,
        RunState.WRITTEN_OFF,
        RunState.REFUNDED,
        *COLLECTING,
    }
)
"""Runs whose documents the ERP holds."""
DELIVERED_OR_BEYOND = POSTED_OR_BEYOND - {RunState.POSTED, RunState.DELIVERING}
"""Runs whose documents reached the customer: delivered, then collecting or collected."""


class Problem(BaseModel):
    """One thing wrong with the input or the master data, named by field."""

    field: str
    code: str
    message: str
    blocking: bool = True


class RouteReason(BaseModel):
    code: str
    message: str


class RunInput(BaseModel):
    event: ContractEvent
    approval_timeout_seconds: int | None = Field(
        default=None, gt=0, description="Expiry of the approval wait; None: the policy's"
    )
    reminder_seconds: int | None = Field(
        default=None, gt=0, description="Reminder delay; None: the policy's"
    )
    escalation_seconds: int | None = Field(
        default=None, gt=0, description="Escalation delay; None: the policy's"
    )
    collect: bool = Field(
        default=True,
        description="Go on after posting (and delivering) into collection (payment, dunning, "
        "disputes) until the money is in: one run from event to cash. False: the run ends at "
        "Posted or Delivered (tests and tools that measure the earlier steps). A history "
        "recorded before collection replays unchanged whatever this says: the `collection` "
        "patch guards the step",
    )


class ApprovalProgress(BaseModel):
    """Where an approval wait stands: who is asked, since when, until when."""

    approvals_needed: int = 1
    approved_by: list[str] = Field(default_factory=list)
    tier: int = 1
    approvers: list[str] = Field(default_factory=list, description="Asked now (current tier)")
    waiting_since: datetime
    due_at: datetime
    reminded_at: datetime | None = None
    escalated_at: datetime | None = None


DocumentType = Literal["invoice", "credit_note"]

MEMO_KEY_OF = {"invoice": "erp_document_id", "credit_note": "credit_note_document_id"}
"""The run's memo names each document's ERP number under these keys (the UI's list shows
them); runs that posted before the documents list used the same keys."""


class RunDocument(BaseModel):
    """One document a run bills (the invoice, or an amendment's credit note) and what became
    of it; its totals are the invoice's. Per-document state of later phases (delivery,
    collection) belongs here."""

    document_type: DocumentType
    invoice: Invoice
    posting_key: str = Field(description="The ERP posting key: posting it twice changes nothing")
    erp_document_id: str = Field(default="", description="The ERP's number, once posted")
    issue_date: date | None = Field(
        default=None, description="BT-2: the day (UTC) the ERP posted it; None before posting"
    )
    corrects: str = Field(
        default="", description="BT-25: the ERP number of the invoice a credit note corrects"
    )
    delivery: DeliveryResult | None = Field(
        default=None, description="How it reached the customer: channel, time, message id"
    )

    @model_validator(mode="after")
    def _type_is_the_invoices(self) -> "RunDocument":
        if self.document_type != self.invoice.document_type:
            raise ValueError(
                f"document_type: {self.document_type}, but the invoice is a "
                f"{self.invoice.document_type}"
            )
        return self

    @classmethod
    def of(cls, invoice: Invoice, *, posting_key: str) -> "RunDocument":
        return cls(document_type=invoice.document_type, invoice=invoice, posting_key=posting_key)

    @property
    def label(self) -> str:
        """How a person calls it: "invoice", "credit note"."""
        return self.document_type.replace("_", " ")

    @property
    def erp_label(self) -> str:
        """How its ERP number is introduced: "ERP document", "ERP credit note"."""
        return "ERP credit note" if self.document_type == "credit_note" else "ERP document"


class RunStatus(BaseModel):
    state: RunState
    contract_id: str
    customer_id: str = ""
    reason_code: str = ""
    reason: str = ""
    problems: list[Problem] = Field(default_factory=list)
    route_reasons: list[RouteReason] = Field(default_factory=list)
    risk_level: str = ""
    approval: ApprovalProgress | None = None
    documents: list[RunDocument] = Field(
        default_factory=list,
        description="What the run bills, in posting order: an amendment's credit note first",
    )
    total: Amount | None = Field(
        default=None, description="The invoice's total, or the credit note's when it is alone"
    )
    currency: str = ""
    decisions: list[RecordedDecision] = Field(default_factory=list)
    refused: list[RefusedAttempt] = Field(
        default_factory=list, description="The latest refused attempts (schemas.bounded)"
    )
    refused_count: int = Field(
        default=0, description="Every refused attempt, also those no longer kept in `refused`"
    )
    collection: CollectionProgress | None = Field(
        default=None, description="From posting to cash, once the run collects"
    )

    def document(self, document_type: DocumentType) -> RunDocument | None:
        return next((d for d in self.documents if d.document_type == document_type), None)

    @model_validator(mode="before")
    @classmethod
    def _documents_from_older_fields(cls, data: Any) -> Any:
        """A status recorded before the documents list (the result of a finished run) named
        each document in fields of its own; read them into the list."""
        if not isinstance(data, dict) or "documents" in data:
            return data
        older = (
            ("invoice", "posting_key", "erp_document_id"),
            ("credit_note", "credit_note_posting_key", "credit_note_document_id"),
        )
        documents = [
            {
                "document_type": field,
                "invoice": data[field],
                "posting_key": data.get(key, ""),
                "erp_document_id": data.get(number, ""),
            }
            for field, key, number in sorted(older, key=lambda o: o[0] != "credit_note")
            if data.get(field) is not None
        ]
        return {**data, "documents": documents}
