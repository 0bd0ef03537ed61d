"""Day-based proration: actual days over actual days, on month ends and leap years."""

from datetime import date
from decimal import Decimal

import pytest

from billing.periods import Period
from billing.proration import prorate

FEB_LEAP = Period(start=date(2028, 2, 1), end=date(2028, 3, 1))


def test_whole_period_is_the_full_fee_exactly() -> None:
    assert prorate(Decimal("10.00"), segment=FEB_LEAP, period=FEB_LEAP).amount == Decimal("10.00")


@pytest.mark.parametrize(
    ("period", "segment", "expected"),
    [
        # Start on 29 February of a leap year: 1 of 29 days.
        (FEB_LEAP, Period(start=date(2028, 2, 29), end=date(2028, 3, 1)), Decimal(1)),
        # The last day of a 31-day month.
        (
            Period(start=date(2025, 1, 1), end=date(2025, 2, 1)),
            Period(start=date(2025, 1, 31), end=date(2025, 2, 1)),
            Decimal(29) / 31,
        ),
        # Half of a leap year.
        (
            Period(start=date(2028, 1, 1), end=date(2029, 1, 1)),
            Period(start=date(2028, 1, 1), end=date(2028, 7, 2)),
            Decimal(29) * 183 / 366,
        ),
    ],
)
def test_partial_periods_count_actual_days(
    period: Period, segment: Period, expected: Decimal
) -> None:
    assert prorate(Decimal(29), segment=segment, period=period).amount == expected


def test_rule_names_the_day_count() -> None:
    segment = Period(start=date(2028, 2, 15), end=date(2028, 3, 1))
    assert "15/29 days" in prorate(Decimal(10), segment=segment, period=FEB_LEAP).rule
