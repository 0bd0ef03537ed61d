"""ERP revenue: the schedule lines posted with a document, the monthly recognition entries
that release them from deferred revenue, and the accounting months already closed.

A schedule line is *deferred* when the monthly recognition entry releases it; the rest was
recognised by the document's own journal. A recognition entry names the schedule lines it
releases, so a line is released once, whatever is retried.
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, Field, field_validator
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from systems.models.erp import AMOUNT_SCALE, MONTH, JournalEntry, ScheduleLineIn
from systems.types import DecimalStr, ScaledDecimal


class ScheduleLinePublic(ScheduleLineIn):
    id: int
    posting_key: str
    entity: str = ""
    currency: str
    billed_month: str
    recognition_key: str | None


class RecognitionRequest(BaseModel):
    posting_key: str = Field(min_length=1, max_length=255)
    month: str = Field(pattern=MONTH, description="The month whose schedule lines it releases")
    period: str = Field(pattern=MONTH, description="The accounting month to book it in")
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    entity: str = Field(default="", max_length=32, description="The entity whose books take it")
    schedule_line_ids: list[int] = Field(min_length=1)
    journal: list[JournalEntry] = Field(min_length=1)
    reason: str = Field(default="", max_length=500, description="Why `period` is not `month`")

    @field_validator("journal")
    @classmethod
    def _balanced(cls, journal: list[JournalEntry]) -> list[JournalEntry]:
        debits = sum((entry.debit for entry in journal), Decimal(0))
        credits = sum((entry.credit for entry in journal), Decimal(0))
        if debits != credits:
            raise ValueError(f"debits {debits} do not equal credits {credits}")
        return journal


class RecognitionPublic(BaseModel):
    posting_key: str
    erp_document_id: str
    month: str
    period: str
    currency: str
    entity: str = ""
    amount: DecimalStr
    reason: str
    journal: list[dict[str, Any]]
    posted_at: datetime


class ClosedPeriodPublic(BaseModel):
    month: str
    closed_at: datetime


class RevenueMovement(BaseModel):
    month: str
    currency: str
    billed: DecimalStr = Field(description="Deferred by documents billed in the month")
    recognised: DecimalStr = Field(description="Released by recognition entries booked in it")


class DeferredBalance(BaseModel):
    currency: str
    account: str
    ledger: DecimalStr = Field(description="Credits less debits on the account")
    scheduled: DecimalStr = Field(description="Deferred schedule lines not yet released")


class RevenueScheduleLine(SQLModel, table=True):
    __tablename__ = "revenue_schedule_line"

    id: int | None = SQLField(default=None, primary_key=True)
    posting_id: int = SQLField(foreign_key="posting.id", index=True)
    posting_key: str
    line_id: str
    product_line: str
    entity: str = SQLField(default="", index=True)
    currency: str = SQLField(index=True)
    month: str = SQLField(index=True)
    billed_month: str
    amount: Decimal = SQLField(sa_column=sa.Column(ScaledDecimal(AMOUNT_SCALE), nullable=False))
    deferred: bool
    recognition_id: int | None = SQLField(
        default=None, foreign_key="revenue_recognition.id", index=True
    )


class RevenueRecognition(SQLModel, table=True):
    __tablename__ = "revenue_recognition"

    id: int | None = SQLField(default=None, primary_key=True)
    posting_key: str = SQLField(unique=True, max_length=255)
    erp_document_id: str = SQLField(unique=True)
    month: str
    period: str = SQLField(index=True)
    currency: str
    entity: str = ""
    amount: Decimal = SQLField(sa_column=sa.Column(ScaledDecimal(AMOUNT_SCALE), nullable=False))
    reason: str = ""
    journal: list[dict[str, Any]] = SQLField(sa_type=sa.JSON)
    content_hash: str
    posted_at: datetime = SQLField(description="UTC")


class RevenueJournalLine(SQLModel, table=True):
    __tablename__ = "revenue_journal_line"

    id: int | None = SQLField(default=None, primary_key=True)
    recognition_id: int = SQLField(foreign_key="revenue_recognition.id", index=True)
    line_no: int
    account: str
    currency: str
    debit: Decimal = SQLField(sa_column=sa.Column(ScaledDecimal(AMOUNT_SCALE), nullable=False))
    credit: Decimal = SQLField(sa_column=sa.Column(ScaledDecimal(AMOUNT_SCALE), nullable=False))
    description: str = ""


class ClosedPeriod(SQLModel, table=True):
    __tablename__ = "closed_period"

    month: str = SQLField(primary_key=True)
    closed_at: datetime = SQLField(description="UTC")
