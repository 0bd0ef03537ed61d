"""Which calendar a CRM contract follows, and which period closes on a day (hand-counted)."""

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.calendar_due import calendar_of, due_period, fire_days, fire_months, term_ends_on
from schemas.calendar import CalendarKey, DuePeriod, Skipped

BERLIN = "Europe/Berlin"


def crm(**fields: Any) -> dict[str, Any]:
    contract: dict[str, Any] = {
        "id": "C-CAL",
        "billing_interval": "monthly",
        "start_date": "2026-01-01",
        "end_date": None,
    }
    contract.update(fields)
    return contract


def key_of(contract: dict[str, Any]) -> CalendarKey:
    found = calendar_of(contract, default_time_zone=BERLIN)
    assert isinstance(found, CalendarKey), found
    return found


def due(contract: dict[str, Any], day: date) -> tuple[date, date] | None:
    period = due_period(contract, key_of(contract), day)
    return None if period is None else (period.period_start, period.period_end)


def test_a_contract_without_calendar_fields_follows_calendar_months_on_the_first() -> None:
    assert key_of(crm()) == CalendarKey(
        interval="monthly", alignment="calendar", bill_cycle_day=1, time_zone=BERLIN
    )
    assert key_of(crm()).schedule_id == "q2c-calendar-monthly-calendar-day1-Europe_Berlin"


def test_an_anniversary_contract_bills_on_its_start_day() -> None:
    key = key_of(crm(alignment="anniversary", start_date="2026-03-20"))
    assert (key.alignment, key.bill_cycle_day) == ("anniversary", 20)


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"bill_cycle_day": 0}, "bill_cycle_day", "0 is not a day of the month"),
        ({"bill_cycle_day": 32}, "bill_cycle_day", "32 is not a day of the month"),
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone", "unknown time zone 'Mars/Olympus_Mons'"),
        ({"end_date": "2025-12-31"}, "end_date", "2025-12-31 is before start_date 2026-01-01"),
        ({"billing_interval": "weekly"}, "billing_interval", "'weekly' is not one of"),
        ({"alignment": "lunar"}, "alignment", "'lunar' is not one of"),
        ({"start_date": "soon"}, "start_date", "'soon' is not a date"),
    ],
)
def test_a_calendar_that_cannot_be_computed_is_skipped_with_its_reason(
    fields: dict[str, Any], field: str, words: str
) -> None:
    found = calendar_of(crm(**fields), default_time_zone=BERLIN)
    assert isinstance(found, Skipped)
    assert (found.contract_id, found.field) == ("C-CAL", field)
    assert words in found.reason


def test_a_month_closes_on_the_first_of_the_next() -> None:
    assert due(crm(), date(2026, 11, 1)) == (date(2026, 10, 1), date(2026, 11, 1))
    assert due(crm(), date(2026, 10, 31)) is None
    # Started on 20 October: its first close covers October (rating prorates the days).
    assert due(crm(start_date="2026-10-20"), date(2026, 11, 1)) == (
        date(2026, 10, 1),
        date(2026, 11, 1),
    )
    assert due(crm(start_date="2026-11-01"), date(2026, 11, 1)) is None


def test_calendar_quarters_close_in_january_april_july_and_october() -> None:
    quarterly = crm(billing_interval="quarterly", start_date="2026-08-17")
    assert due(quarterly, date(2026, 10, 1)) == (date(2026, 7, 1), date(2026, 10, 1))
    assert due(quarterly, date(2026, 11, 1)) is None
    assert fire_months(key_of(quarterly)) == [1, 4, 7, 10]
    assert fire_months(key_of(crm(billing_interval="annual"))) == [1]


def test_day_31_falls_on_the_last_day_of_short_months_and_of_a_leap_february() -> None:
    contract = crm(alignment="anniversary", start_date="2028-01-31")
    assert due(contract, date(2028, 2, 28)) is None
    assert due(contract, date(2028, 2, 29)) == (date(2028, 1, 31), date(2028, 2, 29))
    assert due(contract, date(2028, 3, 31)) == (date(2028, 2, 29), date(2028, 3, 31))
    assert due(contract, date(2028, 4, 30)) == (date(2028, 3, 31), date(2028, 4, 30))
    assert fire_days(key_of(contract)) == (28, 31)
    assert fire_days(key_of(crm())) == (1, 1)


def test_a_termination_closes_the_partial_period_at_the_periods_own_fire() -> None:
    ended = crm(end_date="2026-10-16")
    # The schedule does not fire on 16 October; its 1 November fire closes 1–16 October.
    assert due(ended, date(2026, 10, 16)) is None
    assert due(ended, date(2026, 11, 1)) == (date(2026, 10, 1), date(2026, 10, 16))
    assert due(ended, date(2026, 12, 1)) is None
    # Ending on a period's last day: the period closes as usual, once.
    on_boundary = crm(end_date="2026-11-01")
    assert due(on_boundary, date(2026, 11, 1)) == (date(2026, 10, 1), date(2026, 11, 1))
    assert due(on_boundary, date(2026, 12, 1)) is None


@settings(max_examples=60, deadline=None)
@given(
    start=st.dates(min_value=date(2026, 1, 1), max_value=date(2028, 12, 31)),
    interval=st.sampled_from(["monthly", "quarterly", "annual"]),
    alignment=st.sampled_from(["calendar", "anniversary"]),
    length=st.integers(min_value=1, max_value=900),
    term=st.one_of(st.none(), st.integers(min_value=1, max_value=24)),
)
def test_every_active_day_is_closed_exactly_once(
    start: date, interval: str, alignment: str, length: int, term: int | None
) -> None:
    # Fire every day for two and a half years: the closed periods tile the active days,
    # with terms or without (a renewal closes its period instead of the close).
    end = start + timedelta(days=length)
    contract = crm(
        billing_interval=interval,
        alignment=alignment,
        start_date=start.isoformat(),
        end_date=end.isoformat(),
        term_months=term,
    )
    key = key_of(contract)
    closed: list[DuePeriod] = []
    day = start
    while day <= end + timedelta(days=400):
        found = due_period(contract, key, day)
        if found is not None:
            closed.append(found)
        day += timedelta(days=1)
    days: list[date] = []
    for period in closed:
        lo, hi = max(period.period_start, start), min(period.period_end, end)
        days += [lo + timedelta(days=i) for i in range((hi - lo).days)]
    assert days == [start + timedelta(days=i) for i in range(length)]
    for period in closed:
        # A renewal closes each period in which a term ends (on its last day or inside it),
        # but the contract's last one.
        span = (period.period_end - period.period_start).days
        ends = [period.period_start + timedelta(days=i + 1) for i in range(span)]
        renews = term is not None and period.period_end < end
        renews = renews and any(term_ends_on(start, term or 1, d) for d in ends)
        assert (period.reason == "renewal") == renews, period


def test_a_term_end_on_a_period_end_closes_it_as_a_renewal() -> None:
    # One-year terms from 15 March 2026, anniversary months: the terms end on 15 March 2027,
    # 2028…; 31 January terms of three months end on 30 April (April has 30 days).
    yearly = crm(alignment="anniversary", start_date="2026-03-15", term_months=12)
    renewal = due_period(yearly, key_of(yearly), date(2027, 3, 15))
    assert renewal is not None
    assert (renewal.period_start, renewal.period_end, renewal.reason) == (
        date(2027, 2, 15),
        date(2027, 3, 15),
        "renewal",
    )
    other = due_period(yearly, key_of(yearly), date(2027, 4, 15))
    assert other is not None and (other.reason, other.has_terms) == ("cycle", True)
    quarterly_terms = crm(alignment="anniversary", start_date="2026-01-31", term_months=3)
    on_april_30 = due_period(quarterly_terms, key_of(quarterly_terms), date(2026, 4, 30))
    assert on_april_30 is not None and on_april_30.reason == "renewal"
    assert term_ends_on(date(2026, 1, 31), 3, date(2026, 4, 30))
    assert not term_ends_on(date(2026, 1, 31), 3, date(2026, 3, 31))
    assert not term_ends_on(date(2026, 1, 31), 3, date(2026, 1, 31))  # the start is no end


def test_a_contract_ending_on_its_term_end_closes_without_renewing() -> None:
    ending = crm(start_date="2026-01-01", term_months=12, end_date="2027-01-01")
    last = due_period(ending, key_of(ending), date(2027, 1, 1))
    assert last is not None and last.reason == "cycle"
    renewing = crm(start_date="2026-01-01", term_months=12)
    found = due_period(renewing, key_of(renewing), date(2027, 1, 1))
    assert found is not None and found.reason == "renewal"


def test_a_term_ending_inside_a_period_renews_at_that_periods_fire() -> None:
    # Calendar months from 15 January 2026 with one-year terms: the first term ends on
    # 15 January 2027, inside the period 1 January to 1 February 2027. Nothing fires on the
    # 15th; the fire of 1 February closes that period as a renewal, and the next as a close.
    mid = crm(start_date="2026-01-15", term_months=12)
    assert due_period(mid, key_of(mid), date(2027, 1, 15)) is None
    before = due_period(mid, key_of(mid), date(2027, 1, 1))
    assert before is not None and before.reason == "cycle"
    renewal = due_period(mid, key_of(mid), date(2027, 2, 1))
    assert renewal is not None
    assert (renewal.period_start, renewal.period_end, renewal.reason) == (
        date(2027, 1, 1),
        date(2027, 2, 1),
        "renewal",
    )
    after = due_period(mid, key_of(mid), date(2027, 3, 1))
    assert after is not None and after.reason == "cycle"
    # Quarterly periods with one-month terms: three term ends in a quarter, one renewal.
    monthly_terms = crm(billing_interval="quarterly", start_date="2026-01-01", term_months=1)
    quarter = due_period(monthly_terms, key_of(monthly_terms), date(2026, 4, 1))
    assert quarter is not None and quarter.reason == "renewal"
    # A contract that ends on the term's end (inside the period) does not renew: its last,
    # partial period closes as a close.
    ending = crm(start_date="2026-01-15", term_months=12, end_date="2027-01-15")
    last = due_period(ending, key_of(ending), date(2027, 2, 1))
    assert last is not None
    assert (last.period_start, last.period_end, last.reason) == (
        date(2027, 1, 1),
        date(2027, 1, 15),
        "cycle",
    )


@pytest.mark.parametrize("term", [0, -3, "12", True, 1201])
def test_terms_that_are_no_number_of_months_are_skipped(term: object) -> None:
    found = calendar_of(crm(term_months=term), default_time_zone=BERLIN)
    assert isinstance(found, Skipped)
    assert found.field == "term_months"
