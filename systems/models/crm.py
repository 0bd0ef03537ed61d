"""CRM: customers (master data) and contracts (terms and charges).

Customer fields are kept as the sales team typed them (an e-mail is not checked here):
broken master data is the billing side's to find. Charges and discounts are JSON columns,
their decimals strings, exactly as the CPQ tool hands them over.

A contract row holds the latest terms; `contract_version` keeps every set of terms with the
day it took effect, so the terms in force on any day can be read back after an amendment.
"""

from datetime import date, datetime
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from pydantic import StringConstraints, field_validator
from sqlmodel import Field, SQLModel

from systems.types import DecimalStr

CustomerType = Literal["business", "individual"]
PaymentMethodKind = Literal["auto_collect", "bank_transfer"]
DeliveryChannel = Literal["email", "peppol"]
ChargeKind = Literal["recurring", "usage", "one_time"]
ChargeModel = Literal[
    "standard", "graduated", "volume", "package", "percentage", "graduated_percentage"
]
BillingInterval = Literal["monthly", "quarterly", "annual"]
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
"""Three upper-case letters, as ISO 4217 writes them."""


class Address(SQLModel):
    line1: str = ""
    city: str = ""
    postal_code: str = ""
    country: str = Field(description="ISO 3166-1 alpha-2, e.g. DE")
    subdivision: str = Field(default="", description="ISO 3166-2, e.g. US-NY")


class CustomerBase(SQLModel):
    name: str = Field(min_length=1)
    email: str
    customer_type: CustomerType = Field(default="business", sa_type=sa.String)
    tax_id: str = ""
    currency: str
    exemption_certificate: str = ""
    payment_method: PaymentMethodKind = Field(
        default="bank_transfer",
        sa_type=sa.String,
        description="auto_collect: charged through the payment provider; bank_transfer: pays "
        "the invoice itself",
    )
    dunning_excluded: bool = Field(default=False, description="Never sent dunning actions")
    delivery_channel: DeliveryChannel = Field(default="email", sa_type=sa.String)
    peppol_id: str = Field(
        default="", description="Peppol participant id as typed, e.g. 0208:0123456789"
    )


class Customer(CustomerBase, table=True):
    id: str = Field(primary_key=True)
    address: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)


class CustomerUpsert(CustomerBase):
    id: str | None = Field(default=None, description="Must equal the id in the path when given")
    address: Address | None = None


class CustomerBlock(SQLModel, table=True):
    """A hold on the account, one per holder (e.g. each overdue billing run): the account is
    blocked while any hold remains, so settling one invoice does not clear another's."""

    __tablename__ = "customer_block"

    customer_id: str = Field(primary_key=True, foreign_key="customer.id")
    holder: str = Field(primary_key=True, max_length=255)
    reason: str = ""
    blocked_at: datetime = Field(description="UTC")


class BlockRequest(SQLModel):
    reason: str = Field(default="", max_length=1000)


class BlockPublic(SQLModel):
    holder: str
    reason: str
    blocked_at: datetime


class CustomerPublic(CustomerBase):
    id: str
    address: Address | None = None
    blocked: bool = Field(default=False, description="True while the account has any hold")
    blocks: list[BlockPublic] = Field(default_factory=list)


RecognitionMethod = Literal[
    "ratable_daily", "ratable_monthly", "ratable_monthly_prorated", "point_in_time", "as_billed"
]


class Charge(SQLModel):
    id: str = Field(min_length=1)
    description: str
    kind: ChargeKind
    charge_model: ChargeModel = "standard"
    properties: dict[str, Any] = Field(default_factory=dict)
    metric: str | None = None
    pay_in_advance: bool = False
    currency: CurrencyCode | None = None
    milestone_id: str | None = None
    # q2c's recognition methods (docs/revenue.md); None: the default for the charge's kind.
    recognition: RecognitionMethod | None = None


class Discount(SQLModel):
    id: str
    description: str
    kind: Literal["percentage", "fixed_amount"]
    value: DecimalStr


class ContractBase(SQLModel):
    customer_id: str = Field(min_length=1, index=True)
    currency: CurrencyCode
    plan: str
    product_line: str = "default"
    entity: str = Field(
        default="", max_length=32, description="The selling legal entity; empty: the default"
    )
    owner: str = ""
    billing_interval: BillingInterval = Field(default="monthly", sa_type=sa.String)
    # Kept as entered: a billing calendar that cannot be computed is the reader's to report.
    alignment: str = Field(default="calendar", description="calendar or anniversary")
    bill_cycle_day: int | None = Field(default=None, description="Day of the month periods start")
    time_zone: str | None = Field(default=None, description="IANA zone the days are counted in")
    start_date: date
    end_date: date | None = None
    term_months: int | None = Field(
        default=None, ge=1, le=1200, description="Each term's length; None: no renewals"
    )
    price_override: bool = False
    payment_terms_days: int = Field(default=30, ge=0, le=365, description="Net days to pay")
    buyer_reference: str = Field(default="", description="The buyer's reference for invoices")
    purchase_order: str = Field(default="", description="The buyer's purchase order number")


class Contract(ContractBase, table=True):
    id: str = Field(primary_key=True)
    charges: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    discounts: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    minimum_commitment: str | None = Field(default=None, description="A decimal string")
    non_standard_clauses: list[str] = Field(default_factory=list, sa_type=sa.JSON)


class ContractTerms(ContractBase):
    charges: list[Charge] = Field(default_factory=list)
    discounts: list[Discount] = Field(default_factory=list)
    minimum_commitment: DecimalStr | None = None
    non_standard_clauses: list[str] = Field(default_factory=list)

    @field_validator("charges")
    @classmethod
    def _unique_charge_ids(cls, charges: list[Charge]) -> list[Charge]:
        seen: set[str] = set()
        for charge in charges:
            if charge.id in seen:
                raise ValueError(f"charge id {charge.id!r} appears twice")
            seen.add(charge.id)
        return charges


class ContractUpsert(ContractTerms):
    id: str | None = Field(default=None, description="Must equal the id in the path when given")
    effective_from: date | None = Field(
        default=None,
        description="Amend from this day (the current terms stay in force before it); "
        "without it the current terms are corrected in place",
    )


class ContractPublic(ContractTerms):
    id: str


class ContractWithCustomer(ContractPublic):
    """A contract with its customer expanded in place (`expand[]=customer`), as Stripe
    expands a referenced object: one round trip instead of two."""

    customer: CustomerPublic | None = Field(
        description="The contract's customer; null when the CRM has no customer of that id"
    )


class ContractVersion(SQLModel, table=True):
    """One set of a contract's terms and the day they took effect."""

    __tablename__ = "contract_version"

    contract_id: str = Field(primary_key=True, foreign_key="contract.id")
    effective_from: date = Field(primary_key=True)
    terms: dict[str, Any] = Field(sa_type=sa.JSON, description="ContractTerms as JSON")


class ContractVersionPublic(SQLModel):
    effective_from: date
    effective_until: date | None = Field(
        description="Exclusive: the next version's effective_from; none for the latest terms"
    )
    contract: ContractPublic
