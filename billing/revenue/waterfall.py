"""The deferred-revenue roll-forward: per month and currency, opening + billed - recognised
= closing, the closing balance the next month's opening."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from billing.money import quantum
from billing.revenue.methods import add_months
from billing.revenue.schedule import RevenueError


@dataclass(frozen=True, slots=True)
class Movement:
    """What moved on the deferred-revenue account in one accounting month and currency."""

    month: str
    currency: str
    billed: Decimal
    """Deferred by documents posted in the month (a credit note's is negative)."""
    recognised: Decimal
    """Released to revenue by the recognition entries booked in the month."""


@dataclass(frozen=True, slots=True)
class WaterfallRow:
    month: str
    currency: str
    opening: Decimal
    billed: Decimal
    recognised: Decimal
    closing: Decimal


def _months(first: str, last: str) -> list[str]:
    start = date(int(first[:4]), int(first[5:]), 1)
    months = []
    cursor = start
    while (label := f"{cursor.year:04d}-{cursor.month:02d}") <= last:
        months.append(label)
        cursor = add_months(cursor, 1)
    return months


def waterfall(
    movements: Iterable[Movement], *, first: str | None = None, last: str | None = None
) -> list[WaterfallRow]:
    """Rows for every month from `first` to `last` (default: the months moved) and every
    currency moved, by currency then month; movements before `first` make its opening."""
    moved = list(movements)
    if not moved and (first is None or last is None):
        return []
    first = first or min(m.month for m in moved)
    last = last or max(m.month for m in moved)
    if last < first:
        raise RevenueError("to", f"{last} is before --from {first}")
    rows = []
    for currency in sorted({m.currency for m in moved}):
        mine = [m for m in moved if m.currency == currency]
        balance = sum((m.billed - m.recognised for m in mine if m.month < first), Decimal(0))
        for month in _months(first, last):
            billed = sum((m.billed for m in mine if m.month == month), Decimal(0))
            recognised = sum((m.recognised for m in mine if m.month == month), Decimal(0))
            closing = balance + billed - recognised
            # Sums of minor-unit amounts: shown at the minor unit, nothing rounded away.
            shown = [v.quantize(quantum(currency)) for v in (balance, billed, recognised, closing)]
            rows.append(WaterfallRow(month, currency, *shown))
            balance = closing
    return rows
