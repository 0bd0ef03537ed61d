"""A billing run's input, its visible status, and its result."""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from schemas.approvals import RecordedDecision, RefusedAttempt
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
    POSTING = "Posting"
    RECONCILING = "Reconciling"
    POSTED = "Posted"
    REJECTED = "Rejected"
    NEEDS_ATTENTION = "NeedsAttention"
    NOTHING_TO_BILL = "NothingToBill"
    """An amendment that moves no fee billed in advance: no document to post."""

    @property
    def settled(self) -> bool:
        return self in {
            RunState.POSTED,
            RunState.REJECTED,
            RunState.NEEDS_ATTENTION,
            RunState.NOTHING_TO_BILL,
        }


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
    invoice: Invoice | None = None
    credit_note: Invoice | None = Field(
        default=None, description="An amendment's credit for the unused part of the old terms"
    )
    total: Amount | None = None
    currency: str = ""
    decisions: list[RecordedDecision] = Field(default_factory=list)
    refused: list[RefusedAttempt] = Field(default_factory=list)
    erp_document_id: str = ""
    credit_note_document_id: str = ""
    posting_key: str = ""
    credit_note_posting_key: str = ""
