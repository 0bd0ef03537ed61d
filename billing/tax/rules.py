"""The tax rule table: one row per rule, kept as data in rules.csv beside this module.

A row says, for one jurisdiction and one tax *slot* (the place a tax occupies on the
invoice: `vat`, Canada's `federal` GST/HST and `provincial` PST/QST/RST, a US `state`),
which rate applies to which sales between `valid_from` (inclusive) and `valid_to`
(exclusive), and where that comes from. Changing a rate is closing one row and adding one.
"""

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from schemas.invoice import TaxabilityReason, TaxType
from schemas.money import Amount

SellerLocation = Literal["any", "domestic", "foreign"]
CustomerKind = Literal["any", "business", "individual"]
Requirement = Literal["", "tax_id", "exemption_certificate"]
Rounding = Literal["group", "line", "invoice"]
Level = Literal["country", "state", "province"]
RowOutcome = TaxabilityReason | Literal["unsupported"]

COLUMNS = (
    "rule_id",
    "country",
    "subdivision",
    "slot",
    "tax_type",
    "level",
    "rate",
    "taxable_fraction",
    "taxability_reason",
    "category_code",
    "seller_location",
    "customer_type",
    "requires",
    "registration",
    "rounding",
    "valid_from",
    "valid_to",
    "invoice_note",
    "description",
    "source",
)


class RuleTableError(ValueError):
    """The rule table itself is wrong: names the row and the column."""


class TaxRule(BaseModel, frozen=True):
    rule_id: str = Field(min_length=1)
    country: str = Field(pattern=r"^[A-Z]{2}$")
    subdivision: str = Field(default="", pattern=r"^([A-Z]{2}-[A-Z0-9]{1,3})?$")
    slot: str = Field(min_length=1)
    tax_type: TaxType
    level: Level
    rate: Amount = Field(ge=0, lt=1)
    taxable_fraction: Amount = Field(gt=0, le=1)
    taxability_reason: RowOutcome
    category_code: Literal["S", "AE", "E", "O", "Z"]
    seller_location: SellerLocation = "any"
    customer_type: CustomerKind = "any"
    requires: Requirement = ""
    registration: tuple[str, ...] = Field(
        default=(), description="Any one of these seller registrations lets the seller collect"
    )
    rounding: Rounding
    valid_from: date
    valid_to: date | None = Field(default=None, description="Exclusive")
    invoice_note: str = ""
    description: str = Field(min_length=1)
    source: str = Field(pattern=r"^https://\S+")

    @field_validator("registration", mode="before")
    @classmethod
    def _split_registration(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split("|") if part.strip())
        return value

    @field_validator("valid_to", mode="before")
    @classmethod
    def _empty_is_open(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _consistent(self) -> "TaxRule":
        if self.subdivision and not self.subdivision.startswith(f"{self.country}-"):
            raise ValueError(f"subdivision {self.subdivision} is not in {self.country}")
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be after valid_from")
        charged = self.taxability_reason == "standard_rated"
        if charged != (self.rate > 0):
            raise ValueError("a standard_rated row needs a rate above 0, any other row 0")
        if charged and not self.registration:
            raise ValueError("a row that charges tax names the registration it needs")
        return self

    @property
    def jurisdiction_key(self) -> str:
        return self.subdivision or self.country

    @property
    def specificity(self) -> int:
        """How many conditions the row sets: the most specific matching row wins."""
        return (
            (self.seller_location != "any") + (self.customer_type != "any") + (self.requires != "")
        )

    def in_force(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on < self.valid_to)


def _conditions(rule: TaxRule) -> tuple[str, str, str, str, str]:
    return (
        rule.jurisdiction_key,
        rule.slot,
        rule.seller_location,
        rule.customer_type,
        rule.requires,
    )


def _check_overlaps(rules: Sequence[TaxRule]) -> None:
    by_conditions: dict[tuple[str, str, str, str, str], list[TaxRule]] = {}
    for rule in rules:
        by_conditions.setdefault(_conditions(rule), []).append(rule)
    for same in by_conditions.values():
        ordered = sorted(same, key=lambda rule: rule.valid_from)
        for earlier, later in zip(ordered, ordered[1:], strict=False):
            if earlier.valid_to is None or earlier.valid_to > later.valid_from:
                raise RuleTableError(
                    f"rules {earlier.rule_id} and {later.rule_id} overlap in time for the "
                    "same jurisdiction, slot and conditions"
                )


def parse_rules(text: str, *, name: str = "rules.csv") -> tuple[TaxRule, ...]:
    """Parse and check a rule table; any bad row raises naming its line and column."""
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != COLUMNS:
        raise RuleTableError(f"{name}: the header must be {','.join(COLUMNS)}")
    rules: list[TaxRule] = []
    seen: set[str] = set()
    for row in reader:
        where = f"{name} line {reader.line_num}"
        try:
            rule = TaxRule.model_validate(row)
        except ValidationError as error:
            first = error.errors()[0]
            column = ".".join(str(part) for part in first["loc"]) or "row"
            raise RuleTableError(f"{where}: {column}: {first['msg']}") from None
        if rule.rule_id in seen:
            raise RuleTableError(f"{where}: rule_id {rule.rule_id} is used twice")
        seen.add(rule.rule_id)
        rules.append(rule)
    _check_overlaps(rules)
    return tuple(rules)


@cache
def packaged_rules() -> tuple[TaxRule, ...]:
    """The table shipped with q2c, read and checked on first use."""
    text = resources.files("billing.tax").joinpath("rules.csv").read_text(encoding="utf-8")
    return parse_rules(text)


def rules_in_force(rules: Iterable[TaxRule], on: date) -> list[TaxRule]:
    return [rule for rule in rules if rule.in_force(on)]


def rate_percent(rate: Decimal) -> str:
    """0.09975 -> '9.975%' for messages."""
    return f"{format((rate * 100).normalize(), 'f')}%"


def country_slots(rules: Iterable[TaxRule], country: str) -> tuple[set[str], set[str]]:
    """The slots `country` fills at country level, and those only its subdivisions fill."""
    national: set[str] = set()
    regional: set[str] = set()
    for rule in rules:
        if rule.country == country:
            (regional if rule.subdivision else national).add(rule.slot)
    return national, regional - national


def subdivision_required(rules: Iterable[TaxRule], country: str) -> bool:
    """True where a tax depends on the subdivision (a US state, a Canadian province)."""
    _, regional_only = country_slots(rules, country)
    return bool(regional_only)


def requirement_matters(rules: Iterable[TaxRule], country: str, requirement: Requirement) -> bool:
    """True when some rule for `country` changes the tax for a customer who meets it."""
    return any(rule.country == country and rule.requires == requirement for rule in rules)
