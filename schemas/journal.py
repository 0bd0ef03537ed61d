"""Double-entry journal lines and the ERP's record of a posted invoice."""

from datetime import datetime

from pydantic import BaseModel

from schemas.invoice import Invoice
from schemas.money import Amount
from schemas.revenue import PostedScheduleEntry


class JournalEntry(BaseModel):
    account: str
    debit: Amount
    credit: Amount
    description: str = ""


class PostingRequest(BaseModel):
    posting_key: str
    invoice: Invoice
    journal: list[JournalEntry]
    revenue_schedule: list[PostedScheduleEntry] | None = None
    billed_month: str | None = None
    entity: str = ""
    """The selling entity whose books take the schedule; empty: the default (not sent)."""
    exclusive_service_periods: bool = False
    """The ERP refuses the invoice, in the posting's own transaction, when another invoice of
    the contract bills a line of the same charge and service period (sent only when set)."""


class Posting(BaseModel):
    posting_key: str
    erp_document_id: str
    invoice: Invoice
    journal: list[JournalEntry]
    posted_at: datetime
