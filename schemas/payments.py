"""Cash: one model in and one out for each payment, cash-posting and account-hold activity.

Keys are built here, from the run id and a business reference, so a retried activity sends
the same key and the provider or the ERP answers it once.
"""

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from schemas.money import Amount, CurrencyCode

ChargeStatus = Literal["succeeded", "requires_payment_method", "processing"]
CashKind = Literal["payment", "refund", "write_off", "credit_application"]
_KEY_KIND = {
    "payment": "payment",
    "refund": "refund",
    "write_off": "write-off",
    "credit_application": "credit-application",
}


def charge_idempotency_key(run_id: str, attempt: int) -> str:
    """One key per collection attempt: `<run id>:charge:<attempt>`."""
    return f"{run_id}:charge:{attempt}"


def refund_idempotency_key(run_id: str, reference: str) -> str:
    return f"{run_id}:refund:{reference}"


def cash_posting_key(run_id: str, kind: CashKind, reference: str) -> str:
    """`<run id>:payment:<provider reference>`, `…:refund:…`, `…:write-off:…`, and
    `…:credit-application:<credit note's ERP number>`."""
    return f"{run_id}:{_KEY_KIND[kind]}:{reference}"


class ChargeInput(BaseModel):
    """Collect `amount` from the customer's default payment method, attempt `attempt`."""

    run_id: str = Field(min_length=1)
    attempt: int = Field(ge=1, description="1 for the first try; each retry of the schedule +1")
    customer_id: str = Field(min_length=1)
    invoice_id: str = Field(min_length=1)
    erp_document_id: str = ""
    amount: Amount = Field(gt=0)
    currency: CurrencyCode
    payment_intent_id: str | None = Field(
        default=None, description="Confirm this intent again instead of creating one"
    )


class ChargeResult(BaseModel):
    """What the provider answered; a decline is a result, with its code, not an error."""

    payment_intent_id: str
    status: ChargeStatus
    amount: Amount
    amount_received: Amount
    currency: CurrencyCode
    decline_code: str | None = None
    decline_message: str | None = None
    idempotency_key: str
    replayed: bool = Field(description="The provider had answered this key before")


class FetchChargeInput(BaseModel):
    payment_intent_id: str = Field(min_length=1)


class RefundInput(BaseModel):
    run_id: str = Field(min_length=1)
    reference: str = Field(min_length=1, description="Why, e.g. the credit note's id")
    payment_intent_id: str = Field(min_length=1)
    amount: Amount = Field(gt=0)
    currency: CurrencyCode
    reason: Literal["duplicate", "fraudulent", "requested_by_customer"] = "requested_by_customer"


class RefundResult(BaseModel):
    refund_id: str
    payment_intent_id: str
    amount: Amount
    currency: CurrencyCode
    idempotency_key: str
    replayed: bool


class CashPostingInput(BaseModel):
    """A payment, refund or write-off to post against an ERP document."""

    run_id: str = Field(min_length=1)
    reference: str = Field(min_length=1, description="Provider or bank reference")
    erp_document_id: str = Field(min_length=1)
    amount: Amount = Field(gt=0)
    currency: CurrencyCode
    value_date: date
    description: str = ""


class CashJournalEntry(BaseModel):
    account: str
    debit: Amount
    credit: Amount
    description: str = ""


class CashPosting(BaseModel):
    """The ERP's record of a cash posting, as read back."""

    posting_key: str
    cash_document_id: str
    kind: CashKind
    document: str
    customer_id: str
    amount: Amount
    currency: CurrencyCode
    applied: Amount
    to_credit: Amount
    open_after: Amount
    value_date: date
    reference: str
    journal: list[CashJournalEntry]


class CashPostingResult(BaseModel):
    posting_key: str
    cash_document_id: str
    applied: Amount
    to_credit: Amount = Field(description="Kept as the customer's credit balance")
    open_after: Amount = Field(description="Still open on the document after this posting")
    already_posted: bool = Field(description="A retry found the ERP had committed")


class ReadCashPostingInput(BaseModel):
    posting_key: str = Field(min_length=1)


class OpenItemsInput(BaseModel):
    customer_id: str = Field(min_length=1)
    include_settled: bool = False


class OpenItem(BaseModel):
    erp_document_id: str
    posting_key: str
    document_type: str
    invoice_id: str
    currency: CurrencyCode
    total: Amount
    paid: Amount
    refunded: Amount
    written_off: Amount
    credited: Amount = Field(default=Decimal(0), description="Credit notes applied to it")
    open_amount: Amount
    issue_date: date | None = None
    due_date: date | None = None


class OpenItems(BaseModel):
    customer_id: str
    items: list[OpenItem]
    open_by_currency: dict[str, Amount]
    credit_balance: dict[str, Amount]


class AccountHoldInput(BaseModel):
    """Hold (block) or release the customer's account on behalf of one run."""

    customer_id: str = Field(min_length=1)
    run_id: str = Field(min_length=1)
    reason: str = ""


class AccountStatus(BaseModel):
    customer_id: str
    blocked: bool = Field(description="True while any hold remains")
    holders: list[str] = Field(default_factory=list)
