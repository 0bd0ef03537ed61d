"""The five recognition methods: how one amount over one service period falls into months.

Service periods are half-open, `[start, end)`, like billing periods. Every method returns
exact shares; `billing.revenue.schedule` rounds them (docs/revenue.md, "Rounding").
"""

import calendar
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from schemas.contract import RecognitionMethod

Shares = list[tuple[str, Decimal]]
"""(month "YYYY-MM", exact share), in month order."""


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_before(instant: datetime, time_zone: str) -> str:
    """The month before `instant`'s month on `time_zone`'s calendar (the seller's)."""
    local = instant.astimezone(ZoneInfo(time_zone))
    return month_of(local.date().replace(day=1) - timedelta(days=1))


def first_of_next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def add_months(day: date, months: int) -> date:
    """`day` moved by whole months; a day beyond the target month's end is its last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def _days_by_month(start: date, end: date) -> list[tuple[str, int]]:
    days = []
    cursor = start
    while cursor < end:
        stop = min(first_of_next_month(cursor), end)
        days.append((month_of(cursor), (stop - cursor).days))
        cursor = stop
    return days


def ratable_daily(amount: Decimal, start: date, end: date) -> Shares:
    """Each day of the period earns the same: a month earns its days' share."""
    total = (end - start).days
    return [(month, amount * days / total) for month, days in _days_by_month(start, end)]


def _month_count(start: date, end: date) -> int:
    """Months the period spans, a part month counting whole: the least n with
    start + n months >= end (Jun 15 to Oct 13 is four months)."""
    count = 1
    while add_months(start, count) < end:
        count += 1
    return count


def ratable_monthly(amount: Decimal, start: date, end: date) -> Shares:
    """The same amount each month, from the start's month, for the months the period spans."""
    count = _month_count(start, end)
    share = amount / count
    return [(month_of(add_months(start.replace(day=1), n)), share) for n in range(count)]


def ratable_monthly_prorated(amount: Decimal, start: date, end: date) -> Shares:
    """Whole calendar months earn the same; a part month at either end earns its days at the
    period's daily rate, and the whole months share what is left."""
    months = _days_by_month(start, end)
    total = (end - start).days
    whole = [
        month
        for month, days in months
        if days == calendar.monthrange(int(month[:4]), int(month[5:]))[1]
    ]
    part = {month: amount * days / total for month, days in months if month not in whole}
    rest = amount - sum(part.values(), Decimal(0))
    each = rest / len(whole) if whole else Decimal(0)
    return [(month, part.get(month, each)) for month, _ in months]


def point_in_time(amount: Decimal, start: date, end: date) -> Shares:  # noqa: ARG001
    """All of it in the month the service is delivered: the period's first day (the
    milestone's day, or the invoice's period start for a fee billed on activation)."""
    return [(month_of(start), amount)]


def as_billed(amount: Decimal, start: date, end: date) -> Shares:
    """All of it in the month it was consumed: the month of the period's last day."""
    last = end - timedelta(days=1) if end > start else start
    return [(month_of(last), amount)]


METHODS: dict[RecognitionMethod, Callable[[Decimal, date, date], Shares]] = {
    "ratable_daily": ratable_daily,
    "ratable_monthly": ratable_monthly,
    "ratable_monthly_prorated": ratable_monthly_prorated,
    "point_in_time": point_in_time,
    "as_billed": as_billed,
}
