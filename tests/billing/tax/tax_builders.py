"""Invoices and customers for the tax tests, so each test states only what it is about."""

from datetime import date
from decimal import Decimal
from typing import Any

from schemas.customer import Address, Customer
from schemas.invoice import Invoice, InvoiceLine

PERIOD = (date(2026, 10, 1), date(2026, 11, 1))


def line(amount: str | Decimal, *, line_id: str = "L1") -> InvoiceLine:
    value = Decimal(amount)
    return InvoiceLine(
        line_id=line_id,
        charge_id=f"charge-{line_id}",
        description=f"SaaS subscription {line_id}",
        charge_model="standard",
        amount=value,
        unrounded_amount=value,
        rule="test",
    )


def invoice(
    *amounts: str | Decimal,
    currency: str = "EUR",
    period: tuple[date, date] = PERIOD,
) -> Invoice:
    lines = [line(amount, line_id=f"L{index}") for index, amount in enumerate(amounts, 1)]
    subtotal = sum((item.amount for item in lines), Decimal(0))
    return Invoice(
        invoice_id="INV-1",
        contract_id="C-1",
        customer_id="CU-1",
        currency=currency,
        period_start=period[0],
        period_end=period[1],
        lines=lines,
        subtotal=subtotal,
        tax_total=Decimal(0),
        total=subtotal,
    )


def customer(
    country: str | None,
    subdivision: str = "",
    *,
    customer_type: str = "business",
    tax_id: str = "",
    currency: str = "EUR",
    **fields: Any,
) -> Customer:
    data: dict[str, Any] = {
        "id": "CU-1",
        "name": "Customer Ltd",
        "email": "billing@customer.example",
        "customer_type": customer_type,
        "tax_id": tax_id,
        "currency": currency,
        "address": None if country is None else Address(country=country, subdivision=subdivision),
    }
    data.update(fields)
    return Customer.model_validate(data)
