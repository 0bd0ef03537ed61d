"""Billing periods: monthly, quarterly or annual; calendar or anniversary aligned.

Every period is half-open, `[start, end)`: `end` is the first day of the next period, so
the day count of a period is `(end - start).days` and adjacent periods never share a day.

- *calendar* alignment: periods start on the bill-cycle day (default 1) of every month,
  of January/April/July/October, or of January.
- *anniversary* alignment: periods start on the contract start's day of the month (or the
  bill-cycle day when given), counted in months from the start's month.

A bill-cycle day beyond a month's end falls on its last day (31 → 28 or 29 February,
30 April), and the next month returns to the bill-cycle day.
"""

import calendar
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Literal

BillingInterval = Literal["monthly", "quarterly", "annual"]
Alignment = Literal["calendar", "anniversary"]

_MONTHS: dict[str, int] = {"monthly": 1, "quarterly": 3, "annual": 12}


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date
    """Exclusive."""

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def overlap(self, start: date, end: date | None) -> "Period | None":
        """The part of this period inside `[start, end)` (`end` None: open), if any."""
        lo = max(self.start, start)
        hi = self.end if end is None else min(self.end, end)
        return Period(start=lo, end=hi) if lo < hi else None


@dataclass(frozen=True, slots=True)
class BillingCalendar:
    """Where the periods of one contract fall."""

    interval: BillingInterval
    anchor_month: int
    """Month index (year * 12 + month - 1) that some period starts in."""
    day: int
    """Bill-cycle day, 1–31."""

    @classmethod
    def for_contract(
        cls,
        *,
        interval: BillingInterval,
        alignment: Alignment,
        start_date: date,
        bill_cycle_day: int | None,
    ) -> "BillingCalendar":
        if alignment == "calendar":
            return cls(
                interval=interval, anchor_month=start_date.year * 12, day=bill_cycle_day or 1
            )
        return cls(
            interval=interval,
            anchor_month=start_date.year * 12 + start_date.month - 1,
            day=bill_cycle_day or start_date.day,
        )

    @property
    def months(self) -> int:
        return _MONTHS[self.interval]

    def boundary(self, step: int) -> date:
        """The start of the `step`-th period after (or before) the anchor."""
        year, month0 = divmod(self.anchor_month + step * self.months, 12)
        last_day = calendar.monthrange(year, month0 + 1)[1]
        return date(year, month0 + 1, min(self.day, last_day))

    def containing(self, day: date) -> Period:
        """The period that holds `day`."""
        return _containing(self, day)

    def _search(self, day: date) -> Period:
        step = (day.year * 12 + day.month - 1 - self.anchor_month) // self.months
        while self.boundary(step) > day:
            step -= 1
        while self.boundary(step + 1) <= day:
            step += 1
        return Period(start=self.boundary(step), end=self.boundary(step + 1))

    def following(self, period: Period) -> Period:
        return self.containing(period.end)

    def describe(self) -> str:
        return f"{self.interval}, periods starting on day {self.day}"


@lru_cache(maxsize=4096)
def _containing(calendar: BillingCalendar, day: date) -> Period:
    # Every run of a contract asks for the same few periods.
    return calendar._search(day)
