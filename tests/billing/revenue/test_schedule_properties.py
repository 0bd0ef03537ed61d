"""Properties: every schedule sums to its line; recognised + deferred = billed at every
month end, whatever the billing months and methods."""

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.money import quantum
from billing.revenue import line_schedule, split_deferred, waterfall
from billing.revenue.methods import METHODS, first_of_next_month, month_of
from billing.revenue.waterfall import Movement
from schemas.revenue import ScheduleEntry

CURRENCIES = ["USD", "JPY", "BHD", "EUR"]
methods = st.sampled_from(sorted(METHODS))


@st.composite
def lines(draw: st.DrawFn) -> tuple[Decimal, str, str, date, date]:
    currency = draw(st.sampled_from(CURRENCIES))
    units = draw(st.integers(min_value=-(10**9), max_value=10**9))
    amount = Decimal(units) * quantum(currency)
    start = draw(st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)))
    end = start + timedelta(days=draw(st.integers(min_value=0, max_value=1200)))
    return amount, currency, draw(methods), start, end


@settings(max_examples=400, deadline=None)
@given(lines())
def test_every_schedule_sums_to_its_line(line: tuple[Decimal, str, str, date, date]) -> None:
    amount, currency, method, start, end = line
    rows = line_schedule(amount, currency, method, start, end)  # type: ignore[arg-type]
    assert sum((value for _, value in rows), Decimal(0)) == amount
    for month, value in rows:
        assert value == value.quantize(quantum(currency)), "to the minor unit"
        assert month_of(start) <= month <= month_of(max(start, end - timedelta(days=1)))
    assert [m for m, _ in rows] == sorted({m for m, _ in rows})


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(lines(), st.integers(min_value=0, max_value=30)), max_size=8))
def test_recognised_plus_deferred_is_billed_at_every_month_end(
    billed: list[tuple[tuple[Decimal, str, str, date, date], int]],
) -> None:
    # Each line is billed `lag` months after its service starts (or on its first month).
    # At every month end: what was billed = what is recognised (at once or by the monthly
    # runs so far) + the deferred balance the waterfall carries.
    posted = []
    movements: list[Movement] = []
    for number, ((amount, currency, method, start, end), lag) in enumerate(billed):
        billed_on = start.replace(day=1)
        for _ in range(lag):
            billed_on = first_of_next_month(billed_on)
        billed_month = month_of(billed_on)
        entries = [
            ScheduleEntry(line_id=f"L{number}", month=month, amount=value)
            for month, value in line_schedule(amount, currency, method, start, end)  # type: ignore[arg-type]
        ]
        for entry in split_deferred(entries, billed_month=billed_month, product_line="p"):
            posted.append((billed_month, currency, entry))
    if not posted:
        return
    months = sorted({m for m, _, _ in posted} | {e.month for _, _, e in posted})
    for currency in {c for _, c, _ in posted}:
        mine = [(b, e) for b, c, e in posted if c == currency]
        for month in months:
            deferred_in = sum((e.amount for b, e in mine if b == month and e.deferred), Decimal(0))
            # The run for `month` recognises the deferred entries of `month`.
            run = sum((e.amount for _, e in mine if e.deferred and e.month == month), Decimal(0))
            movements.append(Movement(month, currency, deferred_in, run))
        rows = {r.month: r for r in waterfall(movements) if r.currency == currency}
        for month in months:
            billed_so_far = sum((e.amount for b, e in mine if b <= month), Decimal(0))
            at_once = sum((e.amount for b, e in mine if b <= month and not e.deferred), Decimal(0))
            by_runs = sum(
                (e.amount for b, e in mine if e.deferred and e.month <= month), Decimal(0)
            )
            assert at_once + by_runs + rows[month].closing == billed_so_far
