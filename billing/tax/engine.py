"""The tax engine interface, and how its result lands on an invoice."""

from decimal import Decimal
from typing import Protocol

from pydantic import BaseModel, Field

from schemas.customer import Customer
from schemas.invoice import Invoice, TaxLine


class Seller(BaseModel):
    """Who issues the invoice: decides domestic versus cross-border."""

    name: str = "q2c Demo GmbH"
    country: str = "DE"
    subdivision: str = ""
    tax_id: str = ""


class TaxResult(BaseModel):
    tax_lines: list[TaxLine]
    notes: list[str] = Field(default_factory=list)
    uncertain: bool = Field(default=False, description="True when a person should look")


class TaxError(ValueError):
    """The sale cannot be taxed with confidence: a reason code, never a guessed 0%."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class TaxEngine(Protocol):
    def compute(self, invoice: Invoice, *, seller: Seller, customer: Customer) -> TaxResult: ...


def apply_tax(invoice: Invoice, result: TaxResult) -> Invoice:
    """Total = sum of rounded lines + sum of rounded tax, to the minor unit."""
    tax_total = sum((line.tax_amount for line in result.tax_lines), Decimal(0))
    return invoice.model_copy(
        update={
            "tax_lines": result.tax_lines,
            "tax_total": tax_total,
            "total": invoice.subtotal + tax_total,
            "notes": [*invoice.notes, *result.notes],
        }
    )
