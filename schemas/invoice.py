"""Invoices, their lines and tax lines.

Every amount is rounded half-up to the currency's minor unit at the line; the unrounded
figure stays beside it for the audit. `total == subtotal + tax_total`, always.
"""

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from schemas.money import Amount, CurrencyCode

TaxType = Literal["vat", "gst", "hst", "pst", "qst", "rst", "sales_tax"]
TaxabilityReason = Literal[
    "standard_rated", "reverse_charge", "exempt", "not_taxable", "not_collecting", "zero_rated"
]


class InvoiceLine(BaseModel):
    line_id: str
    charge_id: str
    description: str
    charge_model: str
    quantity: Amount | None = None
    unit_amount: Amount | None = None
    amount: Amount = Field(description="Rounded half-up to the currency's minor unit")
    unrounded_amount: Amount
    rule: str = Field(description="How the amount was produced, for a person to read")
    period_start: date | None = None
    period_end: date | None = None


class TaxLine(BaseModel):
    line_id: str = Field(description="The invoice line taxed, or 'invoice' for a grouped total")
    country: str
    subdivision: str = ""
    jurisdiction: str
    level: Literal["country", "state", "province"]
    tax_type: TaxType
    rate: Amount = Field(description="Fraction, 0.19 for 19%")
    taxable_amount: Amount
    tax_amount: Amount
    unrounded_tax_amount: Amount
    taxability_reason: TaxabilityReason
    rule_id: str
    source: str
    category_code: str = Field(description="EN 16931 VAT category code (S, AE, E, O, Z...)")
    line_ids: list[str] = Field(
        default_factory=list,
        description="The invoice lines a grouped line ('invoice') covers; empty for one line",
    )
    explanation: str = Field(default="", description="Why this rule and rate, for a person")


class Invoice(BaseModel):
    invoice_id: str
    document_type: Literal["invoice", "credit_note"] = "invoice"
    contract_id: str
    customer_id: str
    currency: CurrencyCode
    period_start: date
    period_end: date = Field(description="Exclusive")
    lines: list[InvoiceLine]
    tax_lines: list[TaxLine] = Field(default_factory=list)
    subtotal: Amount
    tax_total: Amount
    total: Amount
    notes: list[str] = Field(default_factory=list)
