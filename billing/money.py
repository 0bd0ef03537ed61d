"""Rounding at the documented points: half-up to the currency's ISO 4217 minor unit.

`round_money` is the one rounding function of q2c: rating rounds every line with it, tax
rounds every tax amount with it. The quantum of each currency is looked up once, since the
ISO 4217 table look-up was most of the cost of rating a line.
"""

from decimal import ROUND_HALF_UP, Decimal
from functools import cache

from schemas.money import minor_unit


@cache
def quantum(currency: str) -> Decimal:
    """The smallest amount of `currency`: 0.01 for EUR, 1 for JPY, 0.001 for BHD."""
    return Decimal(1).scaleb(-minor_unit(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the minor unit (2.345 EUR -> 2.35, -2.345 EUR -> -2.35)."""
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def to_minor_units(amount: Decimal, currency: str) -> int:
    """`amount` as an integer count of the minor unit (12.50 EUR -> 1250, 500 JPY -> 500), as
    payment providers take it; ValueError when it is finer than the minor unit."""
    units = amount.scaleb(minor_unit(currency))
    if units != units.to_integral_value():
        raise ValueError(f"{amount} {currency} is finer than the currency's minor unit")
    return int(units)


def from_minor_units(units: int, currency: str) -> Decimal:
    """The amount of `units` minor units, at the currency's places (1250 EUR -> 12.50)."""
    return Decimal(units).scaleb(-minor_unit(currency)).quantize(quantum(currency))
