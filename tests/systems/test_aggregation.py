"""Time-weighted sums and exact decimal storage, by example and by property."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from systems.aggregation import weighted_sum
from systems.types import ScaledDecimal, plain, to_units

START = datetime(2026, 10, 1, tzinfo=UTC)
END = datetime(2026, 11, 1, tzinfo=UTC)
levels = st.decimals(min_value=-10_000, max_value=10_000, places=3, allow_nan=False)


def test_a_level_held_all_period_is_the_level() -> None:
    assert weighted_sum(initial=Decimal(7), changes=[], start=START, end=END) == 7


def test_a_level_held_for_half_the_period_counts_half() -> None:
    middle = START + (END - START) / 2
    changes = [(middle, Decimal(10))]
    assert weighted_sum(initial=Decimal(0), changes=changes, start=START, end=END) == 5


def test_changes_outside_the_period_or_out_of_order_are_refused() -> None:
    with pytest.raises(ValueError, match="outside the period"):
        weighted_sum(initial=Decimal(0), changes=[(END, Decimal(1))], start=START, end=END)
    later, earlier = START + timedelta(days=2), START + timedelta(days=1)
    with pytest.raises(ValueError, match="time order"):
        weighted_sum(
            initial=Decimal(0),
            changes=[(later, Decimal(1)), (earlier, Decimal(1))],
            start=START,
            end=END,
        )
    with pytest.raises(ValueError, match="end must be after start"):
        weighted_sum(initial=Decimal(0), changes=[], start=END, end=START)


@given(
    initial=levels,
    steps=st.lists(
        st.tuples(st.integers(min_value=0, max_value=31 * 24 * 60 - 1), levels), max_size=12
    ),
)
def test_the_weighted_sum_is_the_integral_of_the_level(
    initial: Decimal, steps: list[tuple[int, Decimal]]
) -> None:
    changes = sorted((START + timedelta(minutes=minute), change) for minute, change in steps)
    # Each change counts for the minutes left after it; the initial level for all of them.
    total = int((END - START) / timedelta(minutes=1))
    integral = initial * total + sum(
        (change * (total - minute) for minute, change in steps), Decimal(0)
    )
    expected = integral / total
    result = weighted_sum(initial=initial, changes=changes, start=START, end=END)
    assert abs(result - expected) < Decimal("1e-20")


@given(st.decimals(min_value=-(10**12), max_value=10**12, places=6, allow_nan=False))
def test_a_scaled_decimal_round_trips_exactly(value: Decimal) -> None:
    column = ScaledDecimal(6)
    stored = column.process_bind_param(value, dialect=None)  # type: ignore[arg-type]
    assert column.process_result_value(stored, dialect=None) == value  # type: ignore[arg-type]


def test_finer_or_larger_values_than_storable_are_refused() -> None:
    with pytest.raises(ValueError, match="more than 6 decimal places"):
        to_units(Decimal("0.0000001"), scale=6)
    with pytest.raises(ValueError, match="too large"):
        to_units(Decimal("1e13"), scale=6)


def test_plain_drops_trailing_zeros_and_exponents() -> None:
    assert [plain(Decimal(v)) for v in ("120000.000000", "1.2E+5", "12.50", "0.000")] == [
        "120000",
        "120000",
        "12.5",
        "0",
    ]
