"""Discounts and coupons, applied after the charges and the minimum-commitment true-up.

Order of application:
1. percentage discounts, in the contract's order, each on what is left after the
   previous ones (10% then 5% of 100.00 leaves 85.50, not 85.00);
2. fixed-amount discounts, in the contract's order, on what is left after that.
Each discount is its own visible line with a negative amount, rounded half-up to the minor
unit; none takes the invoice below zero: a discount larger than what is left is capped
there and the invoice notes it. Rules write amounts with `!s` (as `billing.charges.models`).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from billing.money import round_money
from billing.rating_error import RatingError
from schemas.contract import Discount

_HUNDRED = Decimal(100)
_ZERO = Decimal(0)


@dataclass(slots=True)
class AppliedDiscount:
    discount: Discount
    amount: Decimal
    """Rounded, negative or zero."""
    unrounded: Decimal
    rule: str
    note: str | None = None


def check_discounts(discounts: Sequence[Discount]) -> None:
    for index, discount in enumerate(discounts):
        path = f"discounts.{index}.value"
        if discount.value < 0:
            raise RatingError(path, f"{discount.value} is negative")
        if discount.kind == "percentage" and discount.value > _HUNDRED:
            raise RatingError(path, f"{discount.value}% is above 100%")


def apply_discounts(
    discounts: Sequence[Discount], *, base: Decimal, currency: str
) -> list[AppliedDiscount]:
    """Discount lines for an invoice whose charge lines add up to `base` (rounded)."""
    if not discounts:
        return []
    check_discounts(discounts)
    ordered = [d for d in discounts if d.kind == "percentage"] + [
        d for d in discounts if d.kind == "fixed_amount"
    ]
    left = base
    applied: list[AppliedDiscount] = []
    for discount in ordered:
        note = None
        if discount.kind == "percentage":
            unrounded = left * discount.value / _HUNDRED
            rule = f"discount {discount.id}: {discount.value!s}% of {left!s}"
        else:
            unrounded = discount.value
            rule = f"discount {discount.id}: fixed {discount.value!s}"
        amount = round_money(unrounded, currency)
        if amount > left:
            note = (
                f"discount {discount.id} capped at {left!s} (of {amount!s}) so the invoice "
                "does not fall below zero"
            )
            unrounded = amount = left
            rule += f", capped at the {left!s} left"
        left -= amount
        applied.append(
            AppliedDiscount(
                discount=discount,
                amount=_ZERO - amount,
                unrounded=_ZERO - unrounded,
                rule=rule,
                note=note,
            )
        )
    return applied
