"""ERP: posted invoices and their journal lines, one posting per posting key.

The invoice and journal are kept as posted (JSON) for read-back; journal lines are also
rows with exact amounts, so totals are summed by the database.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from systems.types import DecimalStr, ScaledDecimal, to_units

AMOUNT_SCALE = 6
"""Decimal places an amount may carry in the ERP."""


def _storable(value: Decimal) -> Decimal:
    to_units(value, scale=AMOUNT_SCALE)
    return value


StoredAmount = Annotated[DecimalStr, AfterValidator(_storable)]
"""An amount the ERP keeps as a number (journal lines, invoice totals)."""


class InvoiceLine(BaseModel):
    # Unknown fields are kept: the ERP stores what it was sent and gives it back unchanged.
    model_config = ConfigDict(extra="allow")

    line_id: str
    charge_id: str
    description: str
    charge_model: str
    quantity: DecimalStr | None = None
    unit_amount: DecimalStr | None = None
    amount: DecimalStr
    unrounded_amount: DecimalStr
    rule: str
    period_start: date | None = None
    period_end: date | None = None


class TaxLine(BaseModel):
    model_config = ConfigDict(extra="allow")

    line_id: str
    country: str
    subdivision: str = ""
    jurisdiction: str
    level: str
    tax_type: str
    rate: DecimalStr
    taxable_amount: DecimalStr
    tax_amount: DecimalStr
    unrounded_tax_amount: DecimalStr
    taxability_reason: str
    rule_id: str
    source: str
    category_code: str


class Invoice(BaseModel):
    model_config = ConfigDict(extra="allow")

    invoice_id: str = Field(min_length=1)
    document_type: Literal["invoice", "credit_note"] = "invoice"
    contract_id: str = Field(min_length=1)
    customer_id: str = Field(min_length=1)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    period_start: date
    period_end: date
    lines: list[InvoiceLine]
    tax_lines: list[TaxLine] = Field(default_factory=list)
    subtotal: DecimalStr
    tax_total: DecimalStr
    total: StoredAmount
    notes: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _totals_add_up(self) -> "Invoice":
        if self.subtotal + self.tax_total != self.total:
            raise ValueError(
                f"total: {self.total} is not subtotal {self.subtotal} + tax {self.tax_total}"
            )
        return self


class JournalEntry(BaseModel):
    account: str = Field(min_length=1)
    debit: StoredAmount = Field(ge=0)
    credit: StoredAmount = Field(ge=0)
    description: str = ""


MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"


class ScheduleLineIn(BaseModel):
    """One month of one line's revenue; deferred when the monthly recognition releases it."""

    line_id: str = Field(min_length=1)
    month: str = Field(pattern=MONTH)
    amount: StoredAmount = Field(description="Signed: a credit note's lines are negative")
    product_line: str = "default"
    deferred: bool


class PostingRequest(BaseModel):
    posting_key: str = Field(min_length=1, max_length=255)
    invoice: Invoice
    journal: list[JournalEntry] = Field(min_length=1)
    revenue_schedule: list[ScheduleLineIn] = Field(
        default_factory=list, description="The document's revenue schedule, kept for recognition"
    )
    billed_month: str | None = Field(
        default=None, pattern=MONTH, description="Given with a schedule"
    )
    entity: str = Field(
        default="", max_length=32, description="The selling entity whose books take the schedule"
    )
    exclusive_service_periods: bool = Field(
        default=False,
        description="Refuse the invoice (409) when another invoice of the contract bills a "
        "line of the same charge and service period; checked in the posting's transaction, "
        "so of two such invoices posted at once one is refused. Not part of the content",
    )

    @model_validator(mode="after")
    def _schedule_matches_lines(self) -> "PostingRequest":
        if not self.revenue_schedule:
            return self
        if self.billed_month is None:
            raise ValueError("billed_month: required with a revenue_schedule")
        sign = -1 if self.invoice.document_type == "credit_note" else 1
        sums = {line.line_id: Decimal(0) for line in self.invoice.lines}
        for index, entry in enumerate(self.revenue_schedule):
            if entry.line_id not in sums:
                raise ValueError(f"revenue_schedule.{index}.line_id: no line {entry.line_id!r}")
            sums[entry.line_id] += entry.amount
        for line in self.invoice.lines:
            if sums[line.line_id] != sign * line.amount:
                raise ValueError(
                    f"revenue_schedule: line {line.line_id}'s entries sum to "
                    f"{sums[line.line_id]}, the line is {sign * line.amount}"
                )
        return self

    @field_validator("journal")
    @classmethod
    def _balanced(cls, journal: list[JournalEntry]) -> list[JournalEntry]:
        debits = sum((entry.debit for entry in journal), Decimal(0))
        credits = sum((entry.credit for entry in journal), Decimal(0))
        if debits != credits:
            raise ValueError(f"debits {debits} do not equal credits {credits}")
        return journal


class PostingPublic(BaseModel):
    posting_key: str
    erp_document_id: str
    invoice: dict[str, Any]
    journal: list[dict[str, Any]]
    posted_at: datetime


class InvoiceHistoryItem(BaseModel):
    posting_key: str
    erp_document_id: str
    invoice_id: str
    period_start: date
    period_end: date
    total: DecimalStr
    currency: str
    posted_at: datetime


class CurrencyTotals(BaseModel):
    debits: DecimalStr
    credits: DecimalStr
    postings: int


class JournalTotals(CurrencyTotals):
    by_currency: dict[str, CurrencyTotals]


class Posting(SQLModel, table=True):
    id: int | None = SQLField(default=None, primary_key=True)
    posting_key: str = SQLField(unique=True, max_length=255)
    erp_document_id: str = SQLField(unique=True)
    invoice_id: str
    contract_id: str = SQLField(index=True)
    customer_id: str = SQLField(index=True)
    currency: str
    period_start: date
    period_end: date
    total: Decimal = SQLField(sa_column=sa.Column(ScaledDecimal(AMOUNT_SCALE), nullable=False))
    invoice: dict[str, Any] = SQLField(sa_type=sa.JSON)
    journal: list[dict[str, Any]] = SQLField(sa_type=sa.JSON)
    content_hash: str = SQLField(description="SHA-256 of the request, decimals normalised")
    posted_at: datetime = SQLField(description="UTC")


class JournalLine(SQLModel, table=True):
    __tablename__ = "journal_line"

    id: int | None = SQLField(default=None, primary_key=True)
    posting_id: int = SQLField(foreign_key="posting.id", index=True)
    line_no: int
    account: str
    currency: str
    debit: Decimal = SQLField(sa_column=sa.Column(ScaledDecimal(AMOUNT_SCALE), nullable=False))
    credit: Decimal = SQLField(sa_column=sa.Column(ScaledDecimal(AMOUNT_SCALE), nullable=False))
    description: str = ""


class DocumentCounter(SQLModel, table=True):
    """Next ERP document number; bumped in the posting's transaction, so numbers have no gaps."""

    __tablename__ = "document_counter"

    name: str = SQLField(primary_key=True)
    value: int = 0
