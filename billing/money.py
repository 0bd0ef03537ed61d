"""Rounding at the documented points: half-up to the currency's ISO 4217 minor unit."""

from decimal import ROUND_HALF_UP, Decimal

from schemas.money import minor_unit


def quantum(currency: str) -> Decimal:
    """The smallest amount of `currency`: 0.01 for EUR, 1 for JPY, 0.001 for BHD."""
    return Decimal(1).scaleb(-minor_unit(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the minor unit (2.345 EUR -> 2.35, -2.345 EUR -> -2.35)."""
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)
