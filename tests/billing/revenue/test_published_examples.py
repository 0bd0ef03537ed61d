"""Schedules against published examples; every expected figure is worked out by hand here."""

from datetime import date
from decimal import Decimal

from billing.revenue import line_schedule


def _months(rows: list[tuple[str, Decimal]]) -> dict[str, str]:
    return {month: format(amount, "f") for month, amount in rows}


# Stripe, "Revenue Recognition settings examples", section "Amortization granularity"
# (https://docs.stripe.com/revenue-recognition/revenue-settings/examples): a 4-month
# subscription of 120 USD from June 15 to October 13, 2024. Stripe's periods run from noon
# to noon; q2c's are whole days, half-open: [2024-06-15, 2024-10-13) is 120 days,
# 16 in June (15..30), 31 in July, 31 in August, 30 in September, 12 in October (1..12).

STRIPE_START, STRIPE_END = date(2024, 6, 15), date(2024, 10, 13)


def test_stripe_amortisation_by_day() -> None:
    # Stripe's "amortization by day" table: Jun +16.00, Jul 31, Aug 31, Sep 30, Oct +12.00.
    # 120 USD / 120 days = 1 USD a day, so each month earns its day count.
    rows = line_schedule(Decimal("120.00"), "USD", "ratable_daily", STRIPE_START, STRIPE_END)
    assert _months(rows) == {
        "2024-06": "16.00",
        "2024-07": "31.00",
        "2024-08": "31.00",
        "2024-09": "30.00",
        "2024-10": "12.00",
    }


def test_stripe_amortisation_by_month_evenly() -> None:
    # Stripe's "amortization by month evenly" table: 30.00 in each of Jun, Jul, Aug, Sep:
    # the period spans four months (Jun 15 + 4 months = Oct 15 >= Oct 13), 120 / 4 = 30.
    rows = line_schedule(Decimal("120.00"), "USD", "ratable_monthly", STRIPE_START, STRIPE_END)
    assert _months(rows) == {
        "2024-06": "30.00",
        "2024-07": "30.00",
        "2024-08": "30.00",
        "2024-09": "30.00",
    }


def test_stripe_amortisation_by_month_first_and_last_prorated() -> None:
    # Stripe's "by month evenly, first and last month prorated" table prorates June and
    # October by their days at the period's daily rate (15.5 and 12.5 of 120 days: +15.50,
    # +12.50) and shares the rest evenly over the whole months (92 / 3: 30.66, 30.66, 30.68).
    # In whole days: June 16/120 of 120 = 16.00, October 12/120 of 120 = 12.00, the whole
    # months share 120 - 16 - 12 = 92: 30.666… each, rounded half-up 30.67. q2c puts the
    # rounding remainder on the last month (docs/revenue.md): October takes
    # 120 - 16.00 - 3 × 30.67 = 11.99, where Stripe puts it on the last whole month.
    rows = line_schedule(
        Decimal("120.00"), "USD", "ratable_monthly_prorated", STRIPE_START, STRIPE_END
    )
    assert _months(rows) == {
        "2024-06": "16.00",
        "2024-07": "30.67",
        "2024-08": "30.67",
        "2024-09": "30.67",
        "2024-10": "11.99",
    }


def test_stripe_monthly_subscription_daily() -> None:
    # Stripe, "Subscription examples", "Monthly subscription"
    # (https://docs.stripe.com/revenue-recognition/examples/subscriptions): 31 USD from
    # January 15 to February 14, 2019, recognised per day: 17 days of January (+17.00) and
    # 14 of February. [2019-01-15, 2019-02-15) is those 31 days, 1 USD each.
    rows = line_schedule(
        Decimal("31.00"), "USD", "ratable_daily", date(2019, 1, 15), date(2019, 2, 15)
    )
    assert _months(rows) == {"2019-01": "17.00", "2019-02": "14.00"}


def test_asc_606_annual_fee_recognised_monthly() -> None:
    # ASC 606 teaching example (FloQast, "How Do You Book a Revenue Recognition Journal Entry
    # Under ASC 606?", https://floqast.com/blog/book-revenue-recognition-journal-entry-asc-606):
    # an annual fee of 120,000 payable on January 1 is recognised in monthly increments of
    # 10,000 as the service is provided: 120,000 / 12 months.
    rows = line_schedule(
        Decimal("120000.00"), "USD", "ratable_monthly", date(2026, 1, 1), date(2027, 1, 1)
    )
    assert len(rows) == 12
    assert {amount for _, amount in rows} == {Decimal("10000.00")}
    assert rows[0][0] == "2026-01" and rows[-1][0] == "2026-12"


def test_asc_606_performance_obligations_point_in_time_and_ratable() -> None:
    # The same FloQast article: an invoice of 100,000 defers obligation A 10,000, B 5,000 and
    # C 85,000; at the first month end A (delivered) is recognised whole, 10,000, and C
    # (12 months) 7,083 (85,000 / 12 = 7,083.33…, shown to the dollar). To the cent,
    # C's months are 7,083.33 × 11 and 85,000 - 77,916.63 = 7,083.37 in the last.
    a = line_schedule(
        Decimal("10000.00"), "USD", "point_in_time", date(2017, 6, 12), date(2017, 6, 12)
    )
    assert _months(a) == {"2017-06": "10000.00"}
    c = line_schedule(
        Decimal("85000.00"), "USD", "ratable_monthly", date(2017, 6, 1), date(2018, 6, 1)
    )
    assert [format(amount, "f") for _, amount in c] == ["7083.33"] * 11 + ["7083.37"]


def test_usage_is_recognised_in_the_month_consumed() -> None:
    # Usage billed in arrears for October 2026 is October's revenue, whole.
    rows = line_schedule(Decimal("42.10"), "EUR", "as_billed", date(2026, 10, 1), date(2026, 11, 1))
    assert _months(rows) == {"2026-10": "42.10"}


def test_zero_decimal_currency_rounds_to_whole_yen() -> None:
    # 10,000 JPY over 3 months: 3,333.33… rounds to 3,333, 3,333, and the last takes 3,334.
    rows = line_schedule(
        Decimal("10000"), "JPY", "ratable_monthly", date(2026, 1, 1), date(2026, 4, 1)
    )
    assert [format(amount, "f") for _, amount in rows] == ["3333", "3333", "3334"]
