"""Invoices for the routing tests."""

from datetime import date
from decimal import Decimal

from schemas.invoice import Invoice, InvoiceLine


def invoice(total: str, *, currency: str = "USD") -> Invoice:
    amount = Decimal(total)
    return Invoice(
        invoice_id="c-1:billing_cycle:2026-10-01:2026-11-01",
        contract_id="c-1",
        customer_id="cust-1",
        currency=currency,
        period_start=date(2026, 10, 1),
        period_end=date(2026, 11, 1),
        lines=[
            InvoiceLine(
                line_id="l1",
                charge_id="fee",
                description="fee",
                charge_model="standard",
                amount=amount,
                unrounded_amount=amount,
                rule="fixed",
            )
        ],
        subtotal=amount,
        tax_total=Decimal("0"),
        total=amount,
    )
