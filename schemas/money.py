"""Money primitives: exact decimals with an ISO 4217 currency.

Amounts are `Decimal` built from strings and serialised as strings, so no binary float
ever touches a price. Rounding rules live in `billing.money`; this module only types.
"""

from decimal import Decimal
from typing import Annotated

import iso4217
from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer


def _reject_float(value: object) -> object:
    # A float has already lost precision; only strings, ints and Decimals are exact.
    if isinstance(value, float):
        raise ValueError('amounts must be strings or integers, not floats (use "12.34")')
    return value


def _check_currency(code: str) -> str:
    code = code.upper()
    try:
        currency = iso4217.Currency(code)
    except ValueError:
        raise ValueError(f"{code!r} is not an ISO 4217 currency code") from None
    if currency.exponent is None:
        raise ValueError(f"{code!r} is not a currency with a minor unit")
    return code


AMOUNT_LIMIT = Decimal(10) ** 15
"""Amounts and quantities stay below this in magnitude: a product of two of them still fits
the 28 significant digits decimal arithmetic keeps exact to the minor unit."""


def _bounded(value: Decimal) -> Decimal:
    if abs(value) >= AMOUNT_LIMIT:
        raise ValueError("must be below 10^15 in magnitude")
    return value


Amount = Annotated[
    Decimal,
    BeforeValidator(_reject_float),
    AfterValidator(_bounded),
    PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json"),
]
"""A money amount or a quantity: exact, never a float, a decimal string in JSON."""

CurrencyCode = Annotated[str, Field(max_length=16), AfterValidator(_check_currency)]
"""An upper-case ISO 4217 alphabetic code that has a minor unit (USD, EUR, JPY, BHD...)."""


def minor_unit(currency: str) -> int:
    """Digits after the decimal point for `currency` (JPY 0, EUR 2, BHD 3)."""
    exponent = iso4217.Currency(currency.upper()).exponent
    if exponent is None:
        raise ValueError(f"{currency!r} has no minor unit")
    return int(exponent)
