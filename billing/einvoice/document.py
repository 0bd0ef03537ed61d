"""An invoice in EN 16931's own terms: what UBL, CII and the PDF each write out.

Field names follow the standard's business terms (BT-n) and groups (BG-n), so each syntax
module is a plain mapping and a reader can check it against the standard's tables.
Amounts are already rounded to the document currency's minor unit.
"""

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from billing.money import round_money

VatCategory = Literal["S", "Z", "E", "AE", "K", "G", "O", "L", "M"]

INVOICE_TYPE = "380"  # UNTDID 1001: commercial invoice
CREDIT_NOTE_TYPE = "381"  # UNTDID 1001: credit note
CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
FACTURX_EN16931_GUIDELINE = "urn:cen.eu:en16931:2017"
DISCOUNT_REASON_CODE = "95"  # UNTDID 5189: discount
UNIT_ONE = "C62"  # UN/ECE Recommendation 20: one (a unit)


def percent_text(value: Decimal) -> str:
    """A rate as the syntaxes and the PDF write it: no trailing zeros (19, 9.975), 0 for none."""
    return format(value.normalize(), "f") if value else "0"


def written_rate(category: str, percent: Decimal) -> str | None:
    """The rate (BT-96, BT-119, BT-152) a syntax writes for `category`; none for O, not
    subject to VAT, which carries no rate (BR-O-05, BR-O-06, BR-O-09)."""
    return None if category == "O" else percent_text(percent)


class Party(BaseModel):
    """BG-4 seller or BG-7 buyer."""

    name: str
    street: str = ""
    city: str = ""
    postal_code: str = ""
    country: str = Field(description="ISO 3166-1 alpha-2 (BT-40 / BT-55)")
    subdivision: str = ""
    vat_id: str = Field(default="", description="BT-31 / BT-48, with its country prefix")
    legal_id: str = Field(default="", description="BT-30 / BT-47 legal registration")
    electronic_address: str = Field(default="", description="BT-34 / BT-49")
    electronic_scheme: str = Field(default="", description="EAS code of the address: EM, 9930")
    email: str = ""
    phone: str = ""


class PaymentMeans(BaseModel):
    """BG-16: a credit transfer to the seller's account."""

    code: str = Field(description="UNTDID 4461: 58 SEPA credit transfer, 30 credit transfer")
    iban: str
    bic: str = ""
    bank_name: str = ""
    remittance: str = Field(description="BT-83: what the buyer quotes with the payment")


class Period(BaseModel):
    start: date
    end: date = Field(description="Inclusive, as EN 16931 writes periods")


class Line(BaseModel):
    """BG-25."""

    line_id: str
    name: str
    quantity: Decimal
    unit: str = UNIT_ONE
    price: Decimal = Field(description="BT-146 net price, never negative (BR-27)")
    net_amount: Decimal = Field(description="BT-131")
    period: Period | None = None
    category: VatCategory
    percent: Decimal = Field(description="BT-152")
    shown_quantity: str = Field(default="", description="What q2c metered, for the PDF")
    rule: str = Field(default="", description="How the amount was produced, for the PDF")


class Allowance(BaseModel):
    """BG-20: a document-level allowance (a discount)."""

    amount: Decimal
    reason: str
    reason_code: str = DISCOUNT_REASON_CODE
    category: VatCategory
    percent: Decimal


class VatBreakdown(BaseModel):
    """BG-23: one per category and rate."""

    category: VatCategory
    percent: Decimal
    taxable_amount: Decimal
    tax_amount: Decimal
    exemption_reason: str = Field(default="", description="BT-120")
    exemption_code: str = Field(default="", description="BT-121 (VATEX)")


class Totals(BaseModel):
    """BG-22."""

    line_total: Decimal = Field(description="BT-106")
    allowance_total: Decimal = Field(description="BT-107")
    tax_exclusive: Decimal = Field(description="BT-109")
    tax_total: Decimal = Field(description="BT-110")
    tax_inclusive: Decimal = Field(description="BT-112")
    payable: Decimal = Field(description="BT-115")


class Document(BaseModel):
    number: str = Field(description="BT-1: the ERP's document number")
    type_code: Literal["380", "381"]
    issue_date: date
    due_date: date | None = Field(default=None, description="BT-9")
    currency: str
    buyer_reference: str = Field(default="", description="BT-10")
    order_reference: str = Field(default="", description="BT-13")
    contract_reference: str = Field(default="", description="BT-12")
    preceding_invoice: str = Field(default="", description="BT-25, on a credit note")
    preceding_invoice_date: date | None = Field(default=None, description="BT-26")
    notes: list[str] = Field(default_factory=list, description="BT-22")
    period: Period = Field(description="BG-14")
    seller: Party
    buyer: Party
    payment_means: PaymentMeans | None = None
    payment_terms: str = Field(description="BT-20")
    lines: list[Line]
    allowances: list[Allowance] = Field(default_factory=list)
    breakdown: list[VatBreakdown]
    totals: Totals

    @property
    def is_credit_note(self) -> bool:
        return self.type_code == CREDIT_NOTE_TYPE

    def amount(self, value: Decimal) -> str:
        """An amount as the syntaxes write it: fixed point, the currency's minor unit."""
        return format(round_money(value, self.currency), "f")
