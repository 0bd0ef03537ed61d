"""Which billing calendar a contract follows, and which of its periods closes on a day.

Read from the CRM's contract as it comes (a mapping), because a contract whose calendar
cannot be computed (a bill-cycle day 0, an unknown time zone, an end before its start) must
be skipped with its reason, not refused with the rest of the page.

A period closes on the day it ends (`period_end` is exclusive): the close of
`[period start, day)` fires on `day`. A contract that ends inside a period is closed for
`[period start, end_date)` on the day that period would have ended: the schedule fires on
period ends only, so that is the first fire after the end.

A contract with terms (`term_months`) renews at each term's end before its `end_date`: the
period in which a term ends, on its last day or inside it, is closed by a renewal
(`contract.renewed`, which bills what the close would) instead of a close, at that period's
fire: the schedules fire on period ends only (docs/calendar.md says why), and the period is
billed once, by the renewal. A contract's last period (it ends on or inside it) closes as a
close.
"""

from calendar import monthrange
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from billing.periods import Alignment, BillingCalendar, BillingInterval
from schemas.calendar import CalendarKey, DuePeriod, Skipped

_INTERVALS = get_args(BillingInterval)
_ALIGNMENTS = get_args(Alignment)
_DAY = timedelta(days=1)


def known_time_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def calendar_of(contract: Mapping[str, Any], *, default_time_zone: str) -> CalendarKey | Skipped:
    """The contract's billing calendar, or why it has none."""
    contract_id = str(contract.get("id", ""))

    def skip(field: str, reason: str) -> Skipped:
        return Skipped(contract_id=contract_id, field=field, reason=reason)

    interval = contract.get("billing_interval") or "monthly"
    if interval not in _INTERVALS:
        return skip("billing_interval", f"{interval!r} is not one of {', '.join(_INTERVALS)}")
    alignment = contract.get("alignment") or "calendar"
    if alignment not in _ALIGNMENTS:
        return skip("alignment", f"{alignment!r} is not one of {', '.join(_ALIGNMENTS)}")
    try:
        start = date.fromisoformat(str(contract.get("start_date")))
    except ValueError:
        return skip("start_date", f"{contract.get('start_date')!r} is not a date")
    end = contract.get("end_date")
    if end is not None:
        try:
            end_day = date.fromisoformat(str(end))
        except ValueError:
            return skip("end_date", f"{end!r} is not a date")
        if end_day < start:
            return skip("end_date", f"{end_day} is before start_date {start}")
    term = contract.get("term_months")
    if term is not None and (
        not isinstance(term, int) or isinstance(term, bool) or not 1 <= term <= 1200
    ):
        return skip("term_months", f"{term!r} is not a number of months (1–1200)")
    day = contract.get("bill_cycle_day")
    if day is None:
        day = 1 if alignment == "calendar" else start.day
    if not isinstance(day, int) or isinstance(day, bool) or not 1 <= day <= 31:
        return skip("bill_cycle_day", f"{day!r} is not a day of the month (1–31)")
    zone = contract.get("time_zone") or default_time_zone
    if not isinstance(zone, str) or not known_time_zone(zone):
        return skip("time_zone", f"unknown time zone {zone!r}")
    return CalendarKey(interval=interval, alignment=alignment, bill_cycle_day=day, time_zone=zone)


def due_period(contract: Mapping[str, Any], calendar: CalendarKey, day: date) -> DuePeriod | None:
    """The contract's period that closes on `day`, if any (`calendar` is the contract's)."""
    start = date.fromisoformat(str(contract["start_date"]))
    raw_end = contract.get("end_date")
    end = date.fromisoformat(str(raw_end)) if raw_end is not None else None
    if day <= start:
        return None
    periods = BillingCalendar.for_contract(
        interval=calendar.interval,
        alignment=calendar.alignment,
        start_date=start,
        bill_cycle_day=calendar.bill_cycle_day,
    )
    closing = periods.containing(day - _DAY)
    contract_id = str(contract["id"])
    if closing.end != day:
        return None
    if end is not None and end < day:
        if end > closing.start:
            # Terminated inside the period: its last, partial close, at the period's fire
            # (the schedule fires on period ends only, never on an end_date between them).
            return DuePeriod(contract_id=contract_id, period_start=closing.start, period_end=end)
        return None  # ended before this period
    term = contract.get("term_months")
    term_end = None if term is None else last_term_end(start, term, after=closing.start, by=day)
    renews = term_end is not None and (end is None or end > day)  # the last period closes
    return DuePeriod(
        contract_id=contract_id,
        period_start=closing.start,
        period_end=day,
        reason="renewal" if renews else "cycle",
        has_terms=term is not None,
    )


def term_ends_on(start: date, term_months: int, day: date) -> bool:
    """Whether a term of `term_months` from `start` ends on `day`: `start` moved on a whole
    number of terms, the day of the month kept or cut to a shorter month's last day."""
    months = (day.year - start.year) * 12 + day.month - start.month
    if months <= 0 or months % term_months:
        return False
    last = monthrange(day.year, day.month)[1]
    return day.day == min(start.day, last)


def last_term_end(start: date, term_months: int, *, after: date, by: date) -> date | None:
    """The last day in `(after, by]` on which a term of `term_months` from `start` ends, if
    any (a term shorter than the period may end more than once in it)."""
    found = None
    terms = 1
    while (end := _months_on(start, terms * term_months)) <= by:
        if end > after:
            found = end
        terms += 1
    return found


def _months_on(start: date, months: int) -> date:
    """`start` moved on `months`, its day kept or cut to a shorter month's last day."""
    year, month = divmod(start.month - 1 + months, 12)
    year += start.year
    return date(year, month + 1, min(start.day, monthrange(year, month + 1)[1]))


def fire_months(calendar: CalendarKey) -> list[int]:
    """The months a calendar's periods can end in: calendar-aligned quarters and years end
    in fixed months; anniversary periods in any (each contract's start decides)."""
    if calendar.alignment == "anniversary" or calendar.interval == "monthly":
        return list(range(1, 13))
    return [1, 4, 7, 10] if calendar.interval == "quarterly" else [1]


def fire_days(calendar: CalendarKey) -> tuple[int, int]:
    """The days of the month a calendar fires on, as a range: a bill-cycle day past the 28th
    falls on a shorter month's last day, so such a calendar fires on each of the 28th–31st
    and the fan-out finds which of them ends a period."""
    day = calendar.bill_cycle_day
    return (day, day) if day <= 28 else (28, 31)
