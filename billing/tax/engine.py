"""The tax engine interface, and how its result lands on an invoice."""

from datetime import date
from decimal import Decimal
from typing import Protocol

from pydantic import BaseModel, Field

from schemas.customer import Customer
from schemas.invoice import Invoice, TaxLine

DEMO_REGISTRATIONS = (
    "EU-OSS",
    "GB",
    "CA",
    "CA-BC",
    "CA-SK",
    "CA-MB",
    "CA-QC",
    "AU",
    "US-NY",
    "US-PA",
    "US-WA",
    "US-TX",
)


class Seller(BaseModel):
    """Who issues the invoice: decides domestic versus cross-border, and where it collects;
    its address, contact and bank account are printed on every document it issues."""

    name: str = "q2c Demo GmbH"
    country: str = "DE"
    subdivision: str = ""
    tax_id: str = "DE136695976"
    street: str = "Friedrichstraße 123"
    city: str = "Berlin"
    postal_code: str = "10117"
    email: str = "billing@q2c.example"
    phone: str = ""
    legal_registration: str = Field(
        default="HRB 123456 B, Amtsgericht Charlottenburg",
        description="Company register entry (EN 16931 BT-30), printed in the footer",
    )
    electronic_address: str = Field(
        default="",
        description="Peppol participant id 'scheme:value' (0088:..., 9930:DE...); empty: "
        "the e-mail address (scheme EM)",
    )
    iban: str = Field(default="DE89370400440532013000", description="Where customers pay")
    bic: str = "COBADEFFXXX"
    bank_name: str = "Commerzbank"
    registrations: list[str] = Field(
        default_factory=lambda: list(DEMO_REGISTRATIONS),
        description=(
            "Where the seller is registered to collect: a country (GB, AU, CA for GST/HST), a "
            "subdivision (US-NY, CA-BC) or EU-OSS for every EU member state. The seller's own "
            "country and subdivision count without being listed."
        ),
    )

    def collects(self, alternatives: tuple[str, ...]) -> bool:
        """True when the seller holds any one of `alternatives` (the rule's registration)."""
        held = {*self.registrations, self.country}
        if self.subdivision:
            held.add(self.subdivision)
        return any(name in held for name in alternatives)


class TaxResult(BaseModel):
    tax_lines: list[TaxLine]
    notes: list[str] = Field(default_factory=list)
    uncertain: bool = Field(default=False, description="True when a person should look")
    uncertain_reasons: list[str] = Field(
        default_factory=list, description="Why a person should look, one sentence each"
    )
    tax_date: date | None = Field(default=None, description="The date the rules were chosen for")
    engine: str = Field(default="", description="Which engine computed the lines")


class TaxError(ValueError):
    """The sale cannot be taxed with confidence: a reason code, never a guessed 0%."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class TaxEngine(Protocol):
    """What the `compute_tax` step calls. Async, because an engine may be a remote service
    (`activities.tax_http.HttpTaxEngine`); the built-in rule table answers at once."""

    async def compute(
        self, invoice: Invoice, *, seller: Seller, customer: Customer
    ) -> TaxResult: ...


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
