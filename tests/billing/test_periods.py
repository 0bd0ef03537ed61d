"""Billing periods: calendar and anniversary alignment, bill-cycle days, month ends."""

from datetime import date

import pytest

from billing.periods import BillingCalendar, Period


def cal(
    interval: str = "monthly",
    alignment: str = "calendar",
    start: date = date(2025, 1, 1),
    day: int | None = None,
) -> BillingCalendar:
    return BillingCalendar.for_contract(
        interval=interval,  # type: ignore[arg-type]
        alignment=alignment,  # type: ignore[arg-type]
        start_date=start,
        bill_cycle_day=day,
    )


@pytest.mark.parametrize(
    ("interval", "day", "expected"),
    [
        ("monthly", date(2025, 2, 14), Period(start=date(2025, 2, 1), end=date(2025, 3, 1))),
        ("quarterly", date(2025, 5, 31), Period(start=date(2025, 4, 1), end=date(2025, 7, 1))),
        ("annual", date(2028, 2, 29), Period(start=date(2028, 1, 1), end=date(2029, 1, 1))),
    ],
)
def test_calendar_periods(interval: str, day: date, expected: Period) -> None:
    assert cal(interval).containing(day) == expected


def test_leap_year_periods_count_their_days() -> None:
    assert cal().containing(date(2028, 2, 10)).days == 29
    assert cal().containing(date(2027, 2, 10)).days == 28
    assert cal("annual").containing(date(2028, 7, 1)).days == 366


def test_anniversary_on_the_31st_falls_back_to_the_month_end() -> None:
    anniversary = cal(alignment="anniversary", start=date(2025, 1, 31))
    assert anniversary.containing(date(2025, 2, 10)) == Period(
        start=date(2025, 1, 31), end=date(2025, 2, 28)
    )
    assert anniversary.containing(date(2025, 3, 1)) == Period(
        start=date(2025, 2, 28), end=date(2025, 3, 31)
    )
    assert anniversary.containing(date(2028, 2, 29)).start == date(2028, 2, 29)


def test_anniversary_quarters_count_from_the_start_month() -> None:
    quarters = cal("quarterly", "anniversary", start=date(2025, 2, 15))
    assert quarters.containing(date(2025, 6, 1)) == Period(
        start=date(2025, 5, 15), end=date(2025, 8, 15)
    )


def test_bill_cycle_day_on_calendar_alignment() -> None:
    monthly = cal(day=15)
    assert monthly.containing(date(2025, 3, 14)) == Period(
        start=date(2025, 2, 15), end=date(2025, 3, 15)
    )
    assert monthly.following(monthly.containing(date(2025, 3, 14))).end == date(2025, 4, 15)


def test_periods_before_the_anchor() -> None:
    assert cal(start=date(2030, 6, 1)).containing(date(2024, 12, 31)) == Period(
        start=date(2024, 12, 1), end=date(2025, 1, 1)
    )
