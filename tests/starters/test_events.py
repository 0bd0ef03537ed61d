"""The event builders the demo, benchmarks, chaos run and tests share: valid events whose
periods are calendar months, across the turn of the year."""

from datetime import UTC, date, datetime

from hypothesis import given
from hypothesis import strategies as st

from starters.events import amended, cycle_closed, month
from starters.intake import parse_event


def test_a_month_is_its_first_day_and_the_next_months_first_day() -> None:
    assert month(2026, 10) == (date(2026, 10, 1), date(2026, 11, 1))
    assert month(2026, 12) == (date(2026, 12, 1), date(2027, 1, 1))
    assert month(2026, 13) == (date(2027, 1, 1), date(2027, 2, 1))


@given(year=st.integers(2000, 2100), number=st.integers(1, 120))
def test_months_follow_each_other_without_gap(year: int, number: int) -> None:
    start, end = month(year, number)
    assert start.day == 1 and end.day == 1
    assert month(year, number + 1)[0] == end
    assert 28 <= (end - start).days <= 31


def test_a_built_cycle_event_is_what_intake_accepts() -> None:
    event = cycle_closed("C-1001", month(2026, 10), event_id="evt-1")
    assert event.occurred_at == datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_event(event.model_dump(mode="json")) == event
    assert event.business_key == "C-1001:cycle:2026-10-01:2026-11-01"


def test_a_built_amendment_occurs_on_the_day_of_the_change() -> None:
    event = amended("C-1016", date(2026, 10, 16), date(2026, 11, 1), event_id="evt-2")
    assert event.occurred_at == datetime(2026, 10, 16, tzinfo=UTC)
    assert parse_event(event.model_dump(mode="json")) == event
