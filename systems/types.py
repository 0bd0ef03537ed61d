"""Exact decimals on the wire and in the database.

On the wire a decimal is a JSON string ("12.50"); floats are refused because they have
already lost precision. In the database a decimal is a scaled integer, exact on SQLite
and PostgreSQL alike, so SUM and MAX can run in SQL without a float in sight.
"""

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import iso4217
import sqlalchemy as sa
from pydantic import BeforeValidator, PlainSerializer
from sqlalchemy.engine import Dialect


def _reject_float(value: object) -> object:
    if isinstance(value, float):
        raise ValueError('decimals must be strings or integers, not floats (use "12.34")')
    return value


DecimalStr = Annotated[
    Decimal,
    BeforeValidator(_reject_float),
    PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json"),
]
"""An exact decimal, a string in JSON."""


def plain(value: Decimal) -> str:
    """`value` without trailing zeros or an exponent: 120000, 12.5, 0."""
    return format(value.normalize(), "f") if value else "0"


def money_text(value: Decimal, *, currency: str | None) -> Decimal:
    """`value` at the currency's minor unit (two places when unknown), never rounded away."""
    places = minor_unit(currency)
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        return value.normalize()
    return value.quantize(Decimal(1).scaleb(-places))


def minor_unit(currency: str | None) -> int:
    try:
        exponent = iso4217.Currency(currency).exponent if currency else None
    except ValueError:
        exponent = None
    return 2 if exponent is None else int(exponent)


def parse_decimal(value: object) -> Decimal:
    """A decimal from a JSON scalar; ValueError with the reason when it is not one."""
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        kind = "a float" if isinstance(value, float) else type(value).__name__
        raise ValueError(f"must be a decimal string or an integer, not {kind}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return number


class ScaledDecimal(sa.TypeDecorator[Decimal]):
    """A Decimal stored as a BIGINT count of 10**-scale units; refuses finer values."""

    impl = sa.BigInteger
    cache_ok = True

    def __init__(self, scale: int, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scale = scale

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        del dialect
        return None if value is None else to_units(value, scale=self.scale)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        del dialect
        # SUM over BIGINT comes back as NUMERIC on PostgreSQL, as an int on SQLite.
        return None if value is None else Decimal(value).scaleb(-self.scale)


def to_units(value: Decimal, *, scale: int) -> int:
    """`value` as an integer count of 10**-scale units; ValueError if it has more digits."""
    units = value.scaleb(scale)
    if units != units.to_integral_value():
        raise ValueError(f"{value} has more than {scale} decimal places")
    if abs(units) >= 2**63:
        raise ValueError(f"{value} is too large")
    return int(units)
