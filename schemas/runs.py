"""A billing run's input, its visible status, and its result."""

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

    @property
    def settled(self) -> bool:
        return self in {RunState.POSTED, RunState.REJECTED, RunState.NEEDS_ATTENTION}


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
    approval_timeout_seconds: int = Field(default=7 * 24 * 3600, gt=0)


class RunStatus(BaseModel):
    state: RunState
    contract_id: str
    customer_id: str = ""
    reason_code: str = ""
    reason: str = ""
    problems: list[Problem] = Field(default_factory=list)
    route_reasons: list[RouteReason] = Field(default_factory=list)
    invoice: Invoice | None = None
    total: Amount | None = None
    currency: str = ""
    decisions: list[RecordedDecision] = Field(default_factory=list)
    refused: list[RefusedAttempt] = Field(default_factory=list)
    erp_document_id: str = ""
    posting_key: str = ""
