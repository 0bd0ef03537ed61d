"""ERP cash application: payments, refunds and write-offs posted against a posted document.

Each is one posting per posting key, numbered (PAY-, RFD-, WO-) without gaps, with its own
balanced journal. A payment beyond what is open on the invoice goes to the customer's credit
balance. A document's open amount is its total (negative for a credit note) less what was
applied, credited and written off, plus what was refunded; a credit note applied to an invoice
owes that much less.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from systems.models.erp import AMOUNT_SCALE, StoredAmount
from systems.types import DecimalStr, ScaledDecimal

CashKind = Literal["payment", "refund", "write_off", "credit_application"]
"""A `credit_application` applies a credit note (`reference`, its ERP number) to an invoice
(`document`): the invoice's open amount falls by it, and so does what the credit note owes."""


class CashPostingRequest(BaseModel):
    posting_key: str = Field(min_length=1, max_length=255)
    kind: CashKind
    document: str = Field(min_length=1, description="The ERP document, e.g. INV-000001")
    amount: StoredAmount = Field(gt=0, description="At the currency's minor unit")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="Must be the document's")
    value_date: date = Field(description="When the money moved (or the debt was written off)")
    reference: str = Field(default="", max_length=255, description="Provider or bank reference")
    description: str = ""


class CashJournalEntry(BaseModel):
    account: str
    debit: DecimalStr
    credit: DecimalStr
    description: str = ""


class CashPostingPublic(BaseModel):
    posting_key: str
    cash_document_id: str
    kind: CashKind
    document: str
    customer_id: str
    amount: DecimalStr
    currency: str
    applied: DecimalStr = Field(
        description="What reduced (or, for a refund, raised) the open amount"
    )
    to_credit: DecimalStr = Field(description="What went to the customer's credit balance")
    open_after: DecimalStr = Field(description="The document's open amount after this posting")
    value_date: date
    reference: str
    description: str
    journal: list[CashJournalEntry]
    posted_at: datetime


class OpenItem(BaseModel):
    erp_document_id: str
    posting_key: str
    document_type: str
    invoice_id: str
    contract_id: str
    currency: str
    total: DecimalStr = Field(description="Signed: negative for a credit note")
    paid: DecimalStr
    refunded: DecimalStr
    written_off: DecimalStr
    credited: DecimalStr = Field(
        default=Decimal(0),
        description="Credit notes applied to an invoice; for a credit note, what it applied",
    )
    open_amount: DecimalStr = Field(description="Owed by the customer; negative when owed to")
    period_start: date
    period_end: date
    issue_date: date | None = Field(description="From the posted document, when it has one")
    due_date: date | None = Field(description="From the posted document, when it has one")
    posted_at: datetime


class OpenItems(BaseModel):
    customer_id: str
    items: list[OpenItem]
    open_by_currency: dict[str, DecimalStr]
    credit_balance: dict[str, DecimalStr] = Field(
        description="Overpayments kept for the customer, per currency"
    )


class CashPosting(SQLModel, table=True):
    __tablename__ = "cash_posting"

    id: int | None = SQLField(default=None, primary_key=True)
    posting_key: str = SQLField(unique=True, max_length=255)
    cash_document_id: str = SQLField(unique=True)
    kind: str
    document: str = SQLField(index=True)
    customer_id: str = SQLField(index=True)
    currency: str
    amount: Decimal = SQLField(sa_column=sa.Column(ScaledDecimal(AMOUNT_SCALE), nullable=False))
    applied: Decimal = SQLField(sa_column=sa.Column(ScaledDecimal(AMOUNT_SCALE), nullable=False))
    to_credit: Decimal = SQLField(sa_column=sa.Column(ScaledDecimal(AMOUNT_SCALE), nullable=False))
    open_after: Decimal = SQLField(sa_column=sa.Column(ScaledDecimal(AMOUNT_SCALE), nullable=False))
    value_date: date
    reference: str = ""
    description: str = ""
    journal: list[dict[str, Any]] = SQLField(sa_type=sa.JSON)
    content_hash: str
    posted_at: datetime = SQLField(description="UTC")


class CashJournalLine(SQLModel, table=True):
    __tablename__ = "cash_journal_line"

    id: int | None = SQLField(default=None, primary_key=True)
    cash_posting_id: int = SQLField(foreign_key="cash_posting.id", index=True)
    line_no: int
    account: str
    currency: str
    debit: Decimal = SQLField(sa_column=sa.Column(ScaledDecimal(AMOUNT_SCALE), nullable=False))
    credit: Decimal = SQLField(sa_column=sa.Column(ScaledDecimal(AMOUNT_SCALE), nullable=False))
    description: str = ""
