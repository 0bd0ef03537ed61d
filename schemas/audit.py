"""One handoff of a billing run: the row of the audit trail the report is computed from."""

from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from schemas.calendar import Skipped


class Outcome(StrEnum):
    RECEIVED = "received"
    SUCCESS = "success"
    RETRY = "retry"
    FAILURE = "failure"
    CANCELLED = "cancelled"
    APPROVAL_REQUESTED = "approval_requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    POSTED = "posted"
    DELIVERED = "delivered"
    NEEDS_ATTENTION = "needs_attention"
    NOTHING_TO_BILL = "nothing_to_bill"
    PAID = "paid"
    WRITTEN_OFF = "written_off"
    REFUNDED = "refunded"
    DISPUTED = "disputed"
    SKIPPED = "skipped"
    """A contract the calendar's fan-out passed over: its calendar cannot be computed."""


class Step(StrEnum):
    """Steps that are not activities; an activity's step is its activity type."""

    RECEIVED = "received"
    APPROVAL = "approval"
    OUTCOME = "outcome"
    DISPUTE = "dispute"
    CALENDAR_SKIPPED = "calendar_skipped"
    """Not a run's step: a fire's fan-out skipped a contract (ops/report lists them apart)."""


class Handoff(BaseModel):
    """What happened at one handoff. `key` makes the write idempotent."""

    key: str = Field(description="Unique per handoff; a second write with it changes nothing")
    workflow_id: str
    run_id: str
    step: str
    system: str
    outcome: Outcome
    reason_code: str = ""
    attempt: int = Field(default=1, ge=1)
    started_at: AwareDatetime
    finished_at: AwareDatetime
    decided_by: str = ""
    product_line: str = ""
    customer_id: str = ""
    amount: str = Field(default="", description="Invoice total as a decimal string, if known")
    currency: str = ""
    detail: str = ""


class HandoffInput(BaseModel):
    """What the workflow itself reports (a decision, a final state); the rest comes from the
    activity's own info."""

    step: Step
    outcome: Outcome
    reason_code: str = ""
    decided_by: str = ""
    at: datetime | None = Field(default=None, description="When it happened; default: now")
    detail: str = ""
    source_step: str = Field(
        default="",
        description="Where an outcome's problem showed (an activity type or a step); the row "
        "names that step's system. Empty: the step's own.",
    )
    occurrence: int = Field(
        default=0, ge=0, description="The n-th of its kind in the run (disputes); 0: the only one"
    )


class WholeInputRef(BaseModel):
    """A person's input the run kept only cut (schemas/bounded.py): which of the run's
    signals or updates it came in, for `keep_whole_input` to read it whole from the history.
    Ids and a hash only, so the activity's own input stays small whatever was sent."""

    kind: Literal["signal", "update"]
    name: str = Field(max_length=64, description="The signal's or update's name")
    sha256: str = Field(
        default="", max_length=64, description="A signal: the SHA-256 of its payload's data"
    )
    update_id: str = Field(default="", max_length=256, description="An update: its id")
    size: int = Field(ge=0, description="The payload's data in bytes, as the run saw it")


class WholeInput(BaseModel):
    """A cut input, whole, as the audit trail keeps it: the payload's data (decoded by the
    worker's data converter, so readable whatever the codec), its hash and where it came."""

    key: str = Field(description="Unique per input; a second write with it changes nothing")
    workflow_id: str
    run_id: str
    kind: Literal["signal", "update"]
    name: str
    update_id: str = ""
    sha256: str
    size: int
    received_at: AwareDatetime
    data: bytes


SKIPPED_PREFIX = "calendar-skip:"
"""The audit trail's workflow id for a skipped contract's rows is this and the contract id:
one per contract, so the report lists each once and never counts it as a run."""


class SkippedContracts(BaseModel):
    """The contracts one page of a calendar fire skipped, for the audit trail."""

    day: date = Field(description="The fire's day in the calendar's time zone")
    calendar: str = Field(description="The schedule id of the calendar that fired")
    skipped: list[Skipped]
