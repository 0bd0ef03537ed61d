"""Documents for the e-invoice tests: taxed by the real rule-table engine unless a test
writes its tax lines by hand (an external engine's answer)."""

from datetime import date
from decimal import Decimal
from typing import Any

from billing.tax import RuleTableEngine, Seller, apply_tax
from schemas.customer import Address, Customer
from schemas.invoice import Invoice, InvoiceLine, TaxLine

ISSUED = date(2026, 11, 1)
OCTOBER = (date(2026, 10, 1), date(2026, 11, 1))
SELLER = Seller()

ADDRESSES = {
    "DE": Address(line1="Unter den Linden 1", city="Berlin", postal_code="10117", country="DE"),
    "FR": Address(line1="12 Rue de la Paix", city="Paris", postal_code="75002", country="FR"),
    "NO": Address(line1="Karl Johans gate 1", city="Oslo", postal_code="0154", country="NO"),
    "US": Address(
        line1="101 California Street",
        city="San Francisco",
        postal_code="94111",
        country="US",
        subdivision="US-CA",
    ),
    "GB": Address(line1="1 Poultry", city="London", postal_code="EC2R 8EJ", country="GB"),
    "JP": Address(line1="1-1 Marunouchi", city="Tokyo", postal_code="100-0005", country="JP"),
}


def customer(country: str, *, tax_id: str = "", currency: str = "EUR", **fields: Any) -> Customer:
    data: dict[str, Any] = {
        "id": f"CU-{country}",
        "name": f"Customer {country} Ltd",
        "email": f"ap@customer-{country.lower()}.example",
        "tax_id": tax_id,
        "currency": currency,
        "address": ADDRESSES[country],
    }
    data.update(fields)
    return Customer.model_validate(data)


def line(
    amount: str, *, line_id: str, description: str = "", model: str = "standard", **fields: Any
) -> InvoiceLine:
    value = Decimal(amount)
    data: dict[str, Any] = {
        "line_id": line_id,
        "charge_id": f"charge-{line_id}",
        "description": description or f"Subscription {line_id}",
        "charge_model": model,
        "amount": value,
        "unrounded_amount": value,
        "rule": "test",
        "period_start": OCTOBER[0],
        "period_end": OCTOBER[1],
    }
    data.update(fields)
    return InvoiceLine.model_validate(data)


def draft(*lines: InvoiceLine, currency: str = "EUR", document_type: str = "invoice") -> Invoice:
    subtotal = sum((item.amount for item in lines), Decimal(0))
    return Invoice.model_validate(
        {
            "invoice_id": "draft",
            "document_type": document_type,
            "contract_id": "C-1",
            "customer_id": "CU-1",
            "currency": currency,
            "period_start": OCTOBER[0],
            "period_end": OCTOBER[1],
            "lines": lines,
            "subtotal": subtotal,
            "tax_total": Decimal(0),
            "total": subtotal,
        }
    )


def taxed(invoice: Invoice, who: Customer, *, seller: Seller = SELLER) -> Invoice:
    return apply_tax(invoice, RuleTableEngine().evaluate(invoice, seller=seller, customer=who))


def vat_line(line_id: str, rate: str, taxable: str, tax: str, *, category: str = "S") -> TaxLine:
    """A tax line as an external engine would send it, for one invoice line."""
    return TaxLine(
        line_id=line_id,
        country="DE",
        jurisdiction="DE",
        level="country",
        tax_type="vat",
        rate=Decimal(rate),
        taxable_amount=Decimal(taxable),
        tax_amount=Decimal(tax),
        unrounded_tax_amount=Decimal(tax),
        taxability_reason="standard_rated" if Decimal(rate) else "zero_rated",
        rule_id=f"EXT-{rate}",
        source="https://example.org/engine",
        category_code=category,
    )


def with_tax_lines(invoice: Invoice, *tax_lines: TaxLine) -> Invoice:
    tax_total = sum((tax.tax_amount for tax in tax_lines), Decimal(0))
    return invoice.model_copy(
        update={
            "tax_lines": list(tax_lines),
            "tax_total": tax_total,
            "total": invoice.subtotal + tax_total,
        }
    )
