"""The revenue part of the chaos check: each month's entry once per currency, nothing left
deferred, the account equal to the schedules."""

from devstack.chaos_revenue import RevenueState, revenue_findings


def _state(**changes: object) -> RevenueState:
    values: dict[str, object] = {
        "month": "2027-01",
        "booked": [("revenue:2027-01:EUR", "EUR"), ("revenue:2027-01:USD", "USD")],
        "due": 0,
        "balances": [("EUR", "0.00", "0.00"), ("USD", "0.00", "0.00")],
    }
    return RevenueState(**(values | changes))  # type: ignore[arg-type]


def test_each_entry_once_and_reconciled_is_clean() -> None:
    assert revenue_findings(_state()) == []


def test_an_entry_booked_twice_is_found() -> None:
    booked = [("revenue:2027-01:EUR", "EUR")] * 2
    assert revenue_findings(_state(booked=booked)) == [("revenue:2027-01:EUR", "booked 2 times")]


def test_a_currency_under_another_key_is_found() -> None:
    found = revenue_findings(_state(booked=[("revenue:2027-01:EUR", "USD")]))
    assert found == [("revenue:2027-01:EUR", "booked for USD")]


def test_lines_left_deferred_and_a_ledger_off_the_schedules_are_found() -> None:
    found = revenue_findings(_state(due=3, balances=[("EUR", "10.00", "0.00")]))
    assert found == [
        ("revenue:2027-01", "3 deferred line(s) not recognised"),
        ("deferred:EUR", "ledger 10.00 differs from schedules 0.00"),
    ]


def test_another_entity_under_its_own_key_is_clean() -> None:
    booked = [("revenue:2027-01:EUR", "EUR"), ("revenue:2027-01:EUR:acme-ie", "EUR")]
    assert revenue_findings(_state(booked=booked)) == []
    found = revenue_findings(_state(booked=[("revenue:2027-01:USD:acme-ie", "EUR")]))
    assert found == [("revenue:2027-01:USD:acme-ie", "booked for EUR")]
