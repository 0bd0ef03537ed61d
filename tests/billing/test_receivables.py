"""Receivables figures, against hand computations written out here.

October 2026 (31 days). EUR items:
  A issued 09-15 due 10-15, 1000.00; paid 400.00 on 09-20 and 600.00 on 10-10 → B 600, E 0
  B issued 10-05 due 11-04,  500.00; open                                    → S, E 500 current
  C issued 10-10 due 10-20,  300.00; paid 100.00 on 10-25                    → S, E 200, 11 days
  D issued 06-01 due 07-01,  250.00; written off on 10-30                    → B 250, E 0
  E issued 08-01 due 08-31,  120.00; disputed 10-02, open                    → B 120, E 120, 61 d
  G issued 05-01 due 05-31,   80.00; open                                    → B 80, E 80, 153 d
  B = 600 + 250 + 120 + 80 = 1050.00; S = 500 + 300 = 800.00; E = 500 + 200 + 120 + 80 = 900.00
  E_current = 500.00; DSO = 900 / 800 × 31 = 34.875 → 34.9
  CEI = (1050 + 800 − 900) / (1050 + 800 − 500) × 100 = 950 / 1350 × 100 = 70.37… → 70.4
USD item F issued 10-01 due 10-31, 99.99, open: DSO = 99.99 / 99.99 × 31 = 31.0; CEI has a zero
denominator (0 + 99.99 − 99.99). Issued in October: B, C, F = 3; disputes opened: E = 1 → 33.3%.
"""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from billing.receivables import (
    ReceivableItem,
    aging,
    aging_bucket,
    days_past_due,
    receivables_figures,
)


def _item(
    doc: str, issued: str, due: str, total: str, currency: str = "EUR", **more: Any
) -> ReceivableItem:
    return ReceivableItem.model_validate(
        {
            "document_id": doc,
            "customer_id": "CU-1",
            "currency": currency,
            "issued_on": issued,
            "due_on": due,
            "total": total,
        }
        | more
    )


ITEMS = [
    _item(
        "A",
        "2026-09-15",
        "2026-10-15",
        "1000.00",
        events=[
            {"on": "2026-09-20", "kind": "payment", "amount": "400.00"},
            {"on": "2026-10-10", "kind": "payment", "amount": "600.00"},
        ],
    ),
    _item("B", "2026-10-05", "2026-11-04", "500.00"),
    _item(
        "C",
        "2026-10-10",
        "2026-10-20",
        "300.00",
        events=[{"on": "2026-10-25", "kind": "payment", "amount": "100.00"}],
    ),
    _item(
        "D",
        "2026-06-01",
        "2026-07-01",
        "250.00",
        events=[{"on": "2026-10-30", "kind": "write_off", "amount": "250.00"}],
    ),
    _item("E", "2026-08-01", "2026-08-31", "120.00", disputed_on="2026-10-02"),
    _item("G", "2026-05-01", "2026-05-31", "80.00"),
    _item("F", "2026-10-01", "2026-10-31", "99.99", currency="USD"),
]
OCTOBER = {"start": date(2026, 10, 1), "end": date(2026, 10, 31)}


def test_october_figures_per_currency() -> None:
    figures = receivables_figures(ITEMS, **OCTOBER)
    eur = figures.by_currency["EUR"]
    assert (eur.beginning, eur.sales, eur.ending, eur.ending_current) == (
        Decimal("1050.00"),
        Decimal("800.00"),
        Decimal("900.00"),
        Decimal("500.00"),
    )
    assert (eur.dso_days, eur.cei_percent) == (Decimal("34.9"), Decimal("70.4"))
    assert (eur.write_offs, eur.write_off_count) == (Decimal("250.00"), 1)
    usd = figures.by_currency["USD"]
    assert (usd.dso_days, usd.cei_percent) == (Decimal("31.0"), None)
    assert (figures.invoices_issued, figures.disputes_opened) == (3, 1)
    assert figures.dispute_rate_percent == Decimal("33.3")


def test_aging_buckets_the_ending_receivables() -> None:
    assert aging(ITEMS, as_of=date(2026, 10, 31)) == {
        "EUR": {
            "current": Decimal("500.00"),
            "1-30": Decimal("200.00"),
            "31-60": Decimal("0.00"),
            "61-90": Decimal("120.00"),
            "90+": Decimal("80.00"),
        },
        "USD": {
            "current": Decimal("99.99"),
            "1-30": Decimal("0.00"),
            "31-60": Decimal("0.00"),
            "61-90": Decimal("0.00"),
            "90+": Decimal("0.00"),
        },
    }


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (-5, "current"),
        (0, "current"),
        (1, "1-30"),
        (30, "1-30"),
        (31, "31-60"),
        (60, "31-60"),
        (61, "61-90"),
        (90, "61-90"),
        (91, "90+"),
    ],
)
def test_bucket_edges(days: int, bucket: str) -> None:
    assert aging_bucket(days) == bucket


@pytest.mark.parametrize(
    ("due", "days"),
    [
        (date(2026, 10, 31), 30),  # November has 30 days
        (date(2026, 11, 30), 0),  # due today: not late yet
        (date(2026, 12, 10), -10),
        (None, 0),  # no due date (a credit note): never late
    ],
)
def test_days_past_due_at_the_end_of_the_day(due: date | None, days: int) -> None:
    assert days_past_due(due, as_of=date(2026, 11, 30)) == days


def test_a_period_without_sales_has_no_dso_and_no_dispute_rate() -> None:
    figures = receivables_figures(ITEMS[3:4], start=date(2026, 12, 1), end=date(2026, 12, 31))
    eur = figures.by_currency["EUR"]
    assert (eur.sales, eur.dso_days, figures.dispute_rate_percent) == (Decimal("0.00"), None, None)
    # Written off in October: nothing left at the start of December, nothing collected.
    assert (eur.beginning, eur.ending, eur.cei_percent) == (Decimal("0.00"), Decimal("0.00"), None)


def test_bad_items_and_periods_are_refused() -> None:
    with pytest.raises(ValidationError, match="due_on: 2026-09-30 is before issued_on"):
        _item("X", "2026-10-01", "2026-09-30", "1.00")
    with pytest.raises(ValidationError, match="floats"):
        _item("X", "2026-10-01", "2026-10-30", 1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="end: 2026-09-30 is before start"):
        receivables_figures(ITEMS, start=date(2026, 10, 1), end=date(2026, 9, 30))


def test_a_refunded_payment_is_owed_again_from_the_refund_date() -> None:
    # 200.00 due; 200.00 paid on 11-03, 50.00 of it refunded on 11-10.
    item = _item(
        "R",
        "2026-11-01",
        "2026-11-30",
        "200.00",
        events=[
            {"on": "2026-11-03", "kind": "payment", "amount": "200.00"},
            {"on": "2026-11-10", "kind": "refund", "amount": "50.00"},
        ],
    )
    assert [item.open_on(date(2026, 11, d)) for d in (2, 3, 9, 10)] == [
        Decimal("200.00"), Decimal("0.00"), Decimal("0.00"), Decimal("50.00"),
    ]  # fmt: skip
