"""Revenue recognition: how a charge is recognised, its schedule, the monthly entry.

A schedule entry says how much of one invoice line is revenue of one calendar month
("YYYY-MM"). The rules that compute schedules live in `billing.revenue`.
"""

from datetime import datetime

from pydantic import BaseModel, Field

from schemas.contract import ChargeKind, Contract, RecognitionMethod
from schemas.money import Amount, CurrencyCode

MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"

__all__ = [
    "MONTH_PATTERN",
    "MonthBeforeInput",
    "ChargeRecognition",
    "DueBooks",
    "DueCurrencies",
    "DueInput",
    "PostRecognitionInput",
    "PostedScheduleEntry",
    "RecognitionMethod",
    "RecognitionPosted",
    "RecognitionRunInput",
    "RecognitionRunResult",
    "ReconcileRevenueInput",
    "RevenueReconciliation",
    "RevenueTerms",
    "ScheduleEntry",
    "terms_of",
]


class ChargeRecognition(BaseModel):
    """What the schedule of one charge's lines needs from the contract."""

    charge_id: str
    kind: ChargeKind
    recognition: RecognitionMethod | None = Field(
        default=None, description="None: the default of the charge's kind"
    )


class RevenueTerms(BaseModel):
    """The contract's recognition terms, handed to the posting with its documents."""

    currency: CurrencyCode
    product_line: str = "default"
    entity: str = Field(default="", description="The selling entity; empty: the default one")
    charges: list[ChargeRecognition] = Field(default_factory=list)
    billed_at: datetime | None = Field(
        default=None,
        description="When the document was billed (its run's event); its month, in the "
        "seller's time zone, is the billing month. None: when the posting was scheduled",
    )
    match_credits: bool = Field(
        default=False,
        description="A credit note reverses what the invoice lines it credits have still to "
        "recognise (their schedules in the ERP); False: it is scheduled over its own period, "
        "as runs recorded before the `revenue-credits` patch posted it",
    )


class ScheduleEntry(BaseModel):
    line_id: str
    month: str = Field(pattern=MONTH_PATTERN)
    amount: Amount = Field(description="Signed: a credit note's entries are negative")


class PostedScheduleEntry(ScheduleEntry):
    """An entry as the ERP keeps it: deferred when its month is not before the billing month
    (the monthly run recognises it), else recognised with the invoice."""

    product_line: str
    deferred: bool


class RecognitionRunInput(BaseModel):
    """The monthly run: `month` is recognised; None recognises the month before the one the
    run starts in, in `time_zone` (the seller's), as the schedule fires it on the 1st."""

    month: str | None = Field(default=None, pattern=MONTH_PATTERN)
    time_zone: str = "UTC"


class DueInput(BaseModel):
    month: str = Field(pattern=MONTH_PATTERN)


class MonthBeforeInput(BaseModel):
    instant: datetime
    time_zone: str


class ReconcileRevenueInput(BaseModel):
    currency: CurrencyCode


class DueBooks(BaseModel):
    """One entity's currency with revenue due: the books one entry goes to."""

    entity: str = Field(default="", description="Empty: the default entity")
    currency: CurrencyCode


class DueCurrencies(BaseModel):
    currencies: list[CurrencyCode] = Field(default_factory=list)
    books: list[DueBooks] = Field(
        default_factory=list,
        description="Per entity and currency; empty in runs recorded before entities, whose "
        "currencies are the default entity's",
    )

    def by_books(self) -> list[DueBooks]:
        return self.books or [DueBooks(currency=currency) for currency in self.currencies]


class PostRecognitionInput(BaseModel):
    month: str = Field(pattern=MONTH_PATTERN)
    currency: CurrencyCode
    entity: str = Field(default="", description="Empty: the default entity")


class RecognitionPosted(BaseModel):
    posting_key: str
    erp_document_id: str
    currency: CurrencyCode
    entity: str = Field(default="", description="Empty: the default entity")
    month: str = Field(description="The month whose schedules it recognises")
    period: str = Field(description="The accounting month it is booked in")
    amount: Amount
    reason: str = Field(default="", description="Why `period` differs from `month`")
    already_posted: bool = False


class RevenueReconciliation(BaseModel):
    """The deferred-revenue account against the schedules still to recognise."""

    currency: CurrencyCode
    ledger_deferred: Amount
    scheduled_deferred: Amount

    @property
    def matched(self) -> bool:
        return self.ledger_deferred == self.scheduled_deferred


class RecognitionRunResult(BaseModel):
    month: str
    postings: list[RecognitionPosted] = Field(default_factory=list)
    reconciliations: list[RevenueReconciliation] = Field(default_factory=list)


def terms_of(contract: Contract, *, billed_at: datetime | None = None) -> RevenueTerms:
    """The recognition terms of `contract`: its currency, product line and charges."""
    return RevenueTerms(
        billed_at=billed_at,
        currency=contract.currency,
        product_line=contract.product_line,
        entity=contract.entity,
        charges=[
            ChargeRecognition(charge_id=c.id, kind=c.kind, recognition=c.recognition)
            for c in contract.charges
        ],
    )
