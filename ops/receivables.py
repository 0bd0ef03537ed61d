"""`q2c receivables`: every customer's open items in the ERP, aged by days past due.

Read from the ERP's open-items view (`GET /erp/customers/{id}/open-items`, the view the
`fetch_open_items` activity reads), customer by customer as the CRM lists them. Buckets are
those of `billing/receivables.py`: current (not yet past due), 1–30, 31–60, 61–90, 90+ days
past due at `as_of`. A document the ERP holds without a due date (a credit note) counts as
current; its open amount is negative when it is owed back to the customer.
"""

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import httpx
from pydantic import BaseModel, Field, ValidationError

from billing.money import round_money
from billing.receivables import aging_bucket, bucket_totals, days_past_due
from schemas.money import Amount
from schemas.payments import OpenItems

ZERO = Decimal(0)


class ReceivablesError(RuntimeError):
    """The systems could not be read, or answered something unreadable."""


class AgedItem(BaseModel):
    customer_id: str
    erp_document_id: str
    document_type: str
    invoice_id: str
    currency: str
    total: Amount
    open_amount: Amount
    due_date: date | None
    days_past_due: int = Field(description="0 or less: not yet due")
    bucket: str


class CurrencyAging(BaseModel):
    currency: str
    buckets: dict[str, Amount] = Field(description="Open amount per bucket, all five")
    total: Amount
    items: int


class Receivables(BaseModel):
    as_of: date
    items: list[AgedItem] = Field(description="Most overdue first")
    by_currency: list[CurrencyAging]
    credit_balance: dict[str, Amount] = Field(description="Overpaid, held for customers")


def age(open_items: Sequence[OpenItems], *, as_of: date) -> Receivables:
    """The open items of each customer, aged at the end of `as_of`, with totals per currency."""
    items: list[AgedItem] = []
    credit: dict[str, Decimal] = {}
    for customer in open_items:
        for currency, amount in customer.credit_balance.items():
            credit[currency] = credit.get(currency, ZERO) + amount
        for item in customer.items:
            if item.open_amount == 0:
                continue
            late = days_past_due(item.due_date, as_of=as_of)
            items.append(
                AgedItem(
                    customer_id=customer.customer_id,
                    erp_document_id=item.erp_document_id,
                    document_type=item.document_type,
                    invoice_id=item.invoice_id,
                    currency=item.currency,
                    total=item.total,
                    open_amount=item.open_amount,
                    due_date=item.due_date,
                    days_past_due=late,
                    bucket=aging_bucket(late),
                )
            )
    items.sort(key=lambda i: (-i.days_past_due, i.customer_id, i.erp_document_id))
    aged = bucket_totals((i.currency, i.days_past_due, i.open_amount) for i in items)
    by_currency: list[CurrencyAging] = []
    for currency, buckets in aged.items():
        mine = [i.open_amount for i in items if i.currency == currency]
        by_currency.append(
            CurrencyAging(
                currency=currency,
                buckets=buckets,
                total=round_money(sum(mine, ZERO), currency),
                items=len(mine),
            )
        )
    return Receivables(
        as_of=as_of,
        items=items,
        by_currency=by_currency,
        credit_balance={c: round_money(v, c) for c, v in sorted(credit.items()) if v},
    )


async def _get(http: httpx.AsyncClient, path: str) -> object:
    try:
        response = await http.get(path)
    except httpx.HTTPError as error:
        raise ReceivablesError(f"{path}: {error}") from None
    if response.status_code != 200:
        raise ReceivablesError(f"{path}: {response.status_code} {response.text[:200]}")
    try:
        body: object = response.json()
    except ValueError:
        raise ReceivablesError(f"{path}: not JSON") from None
    return body


async def fetch_receivables(http: httpx.AsyncClient, *, as_of: date) -> Receivables:
    """Every CRM customer's open items from the ERP, aged at `as_of`."""
    customers = await _get(http, "/crm/customers")
    if not isinstance(customers, list):
        raise ReceivablesError("/crm/customers: not a list")
    found: list[OpenItems] = []
    for customer in customers:
        customer_id = customer.get("id") if isinstance(customer, dict) else None
        if not isinstance(customer_id, str):
            raise ReceivablesError(f"/crm/customers: a customer without an id: {customer!r}")
        path = f"/erp/customers/{customer_id}/open-items"
        try:
            found.append(OpenItems.model_validate(await _get(http, path)))
        except ValidationError as error:
            raise ReceivablesError(f"{path}: unreadable open items: {error}") from None
    return age(found, as_of=as_of)
