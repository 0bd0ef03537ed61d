"""The collection phase of a run: its plan (from the dunning policy), where it stands, and
what payments, disputes and resolutions it accepts.

`record_payment` and `dispute` take the payment provider's events as the intake receives
them (`schemas.payment_events`) and a person's shorter notice (the CLI, the Web UI); the
`type` field tells them apart.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator

from schemas.customer import PaymentMethod
from schemas.invoice import Invoice
from schemas.money import Amount, CurrencyCode
from schemas.payment_events import (
    DisputeClosed,
    DisputeOpened,
    PaymentFailed,
    PaymentRefunded,
    PaymentSucceeded,
    check_minor_unit,
)

ZERO = Decimal(0)
_REFERENCE = r"^[A-Za-z0-9_.:/-]+$"

# --- the plan --------------------------------------------------------------------------


class PlanCollectionInput(BaseModel):
    due_at: datetime
    currency: CurrencyCode


class PlannedLevel(BaseModel):
    """A dunning level as it applies to this invoice: when it is reached, what it does."""

    name: str
    days_past_due: int
    at: datetime
    actions: list[str]
    min_amount_due: Amount | None = Field(
        default=None, description="In the invoice's currency; below it the level is skipped"
    )

    def applies_to(self, amount_due: Decimal) -> bool:
        return amount_due > 0 and (self.min_amount_due is None or amount_due >= self.min_amount_due)


class CollectionPlan(BaseModel):
    """The policy version in force on the due date, turned into instants. Recorded in the
    run's history once: a policy changed later never moves a run already collecting."""

    policy_version: str
    due_at: datetime
    card_attempts: list[datetime] = Field(description="Attempt n (from 1) is the n-th")
    levels: list[PlannedLevel]


class WriteOffApprovalInput(BaseModel):
    """What approving a write-off of `amount` takes (the approver policy, as for invoices)."""

    currency: CurrencyCode
    amount: Amount = Field(gt=0)
    owner: str = ""


class DisputeCreditInput(BaseModel):
    """A credit note for `amount` (tax included) of a disputed invoice."""

    invoice: Invoice
    amount: Amount = Field(gt=0)
    credit_note_id: str = Field(min_length=1)
    reason: str = ""


# --- where it stands -------------------------------------------------------------------

CashEntryKind = Literal["payment", "refund", "write_off", "credit_note"]


class CashEntry(BaseModel):
    """Money applied to the invoice (or, for a credit note, credited against it)."""

    kind: CashEntryKind
    reference: str
    amount: Amount
    applied: Amount
    to_credit: Amount = ZERO
    value_date: date
    posting_key: str
    erp_document_id: str = Field(description="The cash posting's or credit note's ERP number")
    source: str = Field(default="", description="card, bank transfer, provider, person")


class TimelineEntry(BaseModel):
    """One thing the collection did, for the UI, the simulation and the audit."""

    at: datetime
    state: str
    level: str = ""
    action: str
    detail: str = ""


class OpenDispute(BaseModel):
    reason: str
    opened_at: datetime
    opened_by: str = ""
    reference: str = Field(default="", description="The provider's dispute id, if it came from it")


class CollectionProgress(BaseModel):
    payment_method: PaymentMethod
    dunning_excluded: bool = False
    policy_version: str = ""
    posted_on: date = Field(description="The day the ERP posted the invoice: its issue date")
    due_at: datetime = Field(description="Midnight UTC starting the due date")
    currency: CurrencyCode
    total: Amount
    amount_due: Amount
    paid: Amount = ZERO
    credited: Amount = ZERO
    written_off: Amount = ZERO
    credit_balance: Amount = Field(default=ZERO, description="Overpaid: kept for the customer")
    level: str = Field(default="", description="The last dunning level reached")
    fired: list[str] = Field(default_factory=list, description="Levels reached (each once)")
    card_attempts: int = 0
    processing: str = Field(
        default="", description="A charge the provider is still processing (its intent id)"
    )
    recheck_at: datetime | None = Field(
        default=None, description="When the processing charge is asked about again"
    )
    account_blocked: bool = False
    entries: list[CashEntry] = Field(default_factory=list)
    dispute: OpenDispute | None = None
    disputes: int = Field(default=0, description="Disputes opened over the run's life")
    timeline: list[TimelineEntry] = Field(default_factory=list)

    def has_reference(self, kind: str, reference: str) -> bool:
        return any(e.kind == kind and e.reference == reference for e in self.entries)


# --- what the run accepts --------------------------------------------------------------


class PaymentNotice(BaseModel):
    """A payment reported by a person (CLI, Web UI) or a bank feed."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["payment.received"] = "payment.received"
    amount: Amount = Field(gt=0)
    currency: CurrencyCode
    reference: str = Field(
        min_length=1, max_length=200, pattern=_REFERENCE, description="The bank's reference"
    )
    value_date: date | None = Field(default=None, description="None: the day it is recorded")
    by: str = Field(default="", max_length=200)

    @model_validator(mode="after")
    def _fits_the_minor_unit(self) -> "PaymentNotice":
        check_minor_unit(self.amount, self.currency)
        return self


class RecordPayment(
    RootModel[
        Annotated[
            PaymentNotice | PaymentSucceeded | PaymentFailed | PaymentRefunded,
            Field(discriminator="type"),
        ]
    ]
):
    """`record_payment`'s input: a person's notice or the provider's payment event."""


class DisputeNotice(BaseModel):
    """A dispute raised by a person for the customer (CLI, Web UI)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["dispute.raised"] = "dispute.raised"
    reason: str = Field(min_length=1, max_length=500)
    by: str = Field(default="", max_length=200)


class RaiseDispute(
    RootModel[Annotated[DisputeNotice | DisputeOpened | DisputeClosed, Field(discriminator="type")]]
):
    """`dispute`'s input: a person's notice or the provider's dispute event."""


class DisputeResolution(BaseModel):
    """How a dispute ends: `upheld` (the invoice stands, dunning resumes where it was) or
    `credited` (a credit note for `credit_amount`, tax included; the rest stays due)."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["upheld", "credited"]
    credit_amount: Amount | None = Field(default=None, gt=0)
    by: str = Field(default="", max_length=200)
    comment: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _amount_when_credited(self) -> "DisputeResolution":
        if self.outcome == "credited" and self.credit_amount is None:
            raise ValueError("credit_amount: a credited dispute needs the amount to credit")
        if self.outcome == "upheld" and self.credit_amount is not None:
            raise ValueError("credit_amount: an upheld dispute credits nothing")
        return self


AnswerOutcome = Literal["applied", "duplicate", "refused", "noted"]


class CollectionAnswer(BaseModel):
    """What the run did with a payment, a dispute or a resolution."""

    outcome: AnswerOutcome
    detail: str = ""
    amount_due: Amount
    state: str
