"""Contracts and their charges, described in the vocabulary Lago publishes.

A charge has a `charge_model` and model-specific `properties`; `billing.charges` parses the
properties per model and reports bad ones with their field path.
"""

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from schemas.money import Amount, CurrencyCode

ChargeModel = Literal[
    "standard", "graduated", "volume", "package", "percentage", "graduated_percentage"
]
ChargeKind = Literal["recurring", "usage", "one_time"]
BillingInterval = Literal["monthly", "quarterly", "annual"]
Aggregation = Literal["count", "sum", "max", "unique_count", "latest", "weighted_sum"]
Alignment = Literal["calendar", "anniversary"]
PaymentTermsDays = Annotated[
    int, Field(ge=0, le=365, description="Net days from the issue date to the due date")
]
RecognitionMethod = Literal[
    "ratable_daily", "ratable_monthly", "ratable_monthly_prorated", "point_in_time", "as_billed"
]


class BillableMetric(BaseModel):
    """What the usage platform aggregates, and how; the rating engine receives the result."""

    code: str = Field(min_length=1)
    aggregation: Aggregation
    field_name: str | None = Field(
        default=None, description="Event property aggregated (all but count)"
    )


class Charge(BaseModel):
    id: str = Field(min_length=1)
    description: str
    kind: ChargeKind
    charge_model: ChargeModel = "standard"
    properties: dict[str, Any] = Field(default_factory=dict)
    metric: str | None = Field(default=None, description="Billable metric code (usage charges)")
    pay_in_advance: bool = False
    currency: CurrencyCode | None = Field(
        default=None, description="Must equal the contract's currency when given"
    )
    milestone_id: str | None = Field(default=None, description="One-time fee billed on a milestone")
    recognition: RecognitionMethod | None = Field(
        default=None,
        description="How its revenue is recognised (docs/revenue.md); default by kind",
    )

    @model_validator(mode="after")
    def _usage_needs_metric(self) -> "Charge":
        if self.kind == "usage" and not self.metric:
            raise ValueError("a usage charge needs a metric")
        return self


class Discount(BaseModel):
    id: str
    description: str
    kind: Literal["percentage", "fixed_amount"]
    value: Amount = Field(description="Percent (10 = 10%) or an amount in the contract currency")


class Contract(BaseModel):
    id: str = Field(min_length=1)
    customer_id: str
    currency: CurrencyCode
    plan: str
    product_line: str = "default"
    entity: str = Field(
        default="",
        max_length=32,
        pattern=r"^[A-Za-z0-9_-]*$",
        description="The selling legal entity whose books take the contract's revenue; "
        "empty: the default entity",
    )
    owner: str = Field(default="", description="E-mail of the account owner (may not approve)")
    billing_interval: BillingInterval = "monthly"
    alignment: Alignment = Field(
        default="calendar", description="Periods on calendar boundaries or the start's anniversary"
    )
    bill_cycle_day: int | None = Field(
        default=None, ge=1, le=31, description="Day of the month periods start on"
    )
    start_date: date
    end_date: date | None = None
    term_months: int | None = Field(
        default=None,
        ge=1,
        le=1200,
        description="Length of the first term and each renewal; the contract renews at each "
        "term's end until its end_date (None: no terms, it runs on)",
    )
    charges: list[Charge] = Field(default_factory=list)
    discounts: list[Discount] = Field(default_factory=list)
    minimum_commitment: Amount | None = Field(
        default=None, description="Minimum spend per billing period; a true-up line fills the gap"
    )
    metrics: list[BillableMetric] = Field(
        default_factory=list, description="When given, every usage charge must name one of these"
    )
    non_standard_clauses: list[str] = Field(default_factory=list)
    price_override: bool = False
    payment_terms_days: PaymentTermsDays = 30
    buyer_reference: str = Field(
        default="", description="The buyer's reference to quote on invoices (EN 16931 BT-10)"
    )
    purchase_order: str = Field(
        default="", description="The buyer's purchase order number (EN 16931 BT-13)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> "Contract":
        for index, charge in enumerate(self.charges):
            if charge.currency is not None and charge.currency != self.currency:
                raise ValueError(
                    f"charges.{index}.currency: {charge.currency} differs from the contract's "
                    f"{self.currency}"
                )
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError("end_date: ends before start_date")
        return self

    @property
    def document_terms(self) -> "DocumentTerms":
        return DocumentTerms.model_validate(self, from_attributes=True)


class DocumentTerms(BaseModel):
    """What a posted document quotes of its contract: the delivery step gets these, not the
    whole contract, as every input stays in the run's history (BENCHMARKS.md, "Bytes per
    run")."""

    payment_terms_days: PaymentTermsDays = 30
    buyer_reference: str = Field(default="", description="EN 16931 BT-10")
    purchase_order: str = Field(default="", description="EN 16931 BT-13")
