"""The published examples of each charge model, rated exactly."""

from decimal import Decimal
from typing import Any

import pytest

from billing.charges import price_charge
from billing.rating import RatingError
from tests.billing.builders import usage_charge


def rate(
    model: str, properties: dict[str, Any], quantity: str | int, events: Any = None
) -> Decimal:
    priced = price_charge(usage_charge(model, properties), "charges.0")
    values = None if events is None else [Decimal(str(v)) for v in events]
    return priced.rate(Decimal(quantity), values).amount


def ranges(*tiers: tuple[int, int | None, str, str]) -> list[dict[str, Any]]:
    return [
        {"from_value": lo, "to_value": hi, "per_unit_amount": unit, "flat_amount": flat}
        for lo, hi, unit, flat in tiers
    ]


def test_standard_bills_each_unit() -> None:
    assert rate("standard", {"amount": "0.05"}, 1000) == Decimal("50.00")


def test_package_rounds_up_after_free_units() -> None:
    props = {"amount": "5", "package_size": 100, "free_units": 100}
    assert rate("package", props, 201) == Decimal("10")


@pytest.mark.parametrize(
    ("quantity", "expected"), [(3, 10_000), (15, 20_000), (10, 10_000), (0, 0)]
)
def test_package_in_cents(quantity: int, expected: int) -> None:
    assert rate("package", {"amount": "10000", "package_size": 10}, quantity) == expected


@pytest.mark.parametrize(("quantity", "expected"), [(3, 0), (12, 10_000), (5, 0), (6, 10_000)])
def test_package_with_free_units_in_cents(quantity: int, expected: int) -> None:
    props = {"amount": "10000", "package_size": 10, "free_units": 5}
    assert rate("package", props, quantity) == expected


def test_volume_prices_every_unit_at_the_tier_reached() -> None:
    props = {
        "volume_ranges": ranges(
            (0, 10_000, "0.0010", "10"),
            (10_001, 50_000, "0.0008", "10"),
            (50_001, 100_000, "0.0006", "10"),
            (100_001, None, "0.0004", "10"),
        )
    }
    assert rate("volume", props, 65_000) == Decimal("49.00")


@pytest.mark.parametrize(("quantity", "expected"), [(5, 12_500), (15, 8_000), (10, 15_000)])
def test_volume_in_cents(quantity: int, expected: int) -> None:
    props = {"volume_ranges": ranges((0, 10, "500", "10000"), (11, None, "200", "5000"))}
    assert rate("volume", props, quantity) == expected


@pytest.mark.parametrize(
    ("quantity", "expected"), [(1, "7"), (5, "35"), (6, "39"), (20, "120"), (25, "150")]
)
def test_volume_starting_at_one(quantity: int, expected: str) -> None:
    props = {"volume_ranges": ranges((1, 5, "7", "0"), (6, 10, "6.5", "0"), (11, None, "6", "0"))}
    assert rate("volume", props, quantity) == Decimal(expected)


def test_percentage_with_fixed_fee_and_free_events() -> None:
    props = {"rate": "1.2", "fixed_amount": "0.10", "free_units_per_events": 3}
    assert rate("percentage", props, 450, events=[200, 100, 100, 50]) == Decimal("0.70")


def test_percentage_free_amount_straddled_by_an_event() -> None:
    # 500 free: 200 and 250 are free, 100 pays on its 50 above the free amount.
    props = {"rate": "2", "fixed_amount": "0.30", "free_units_per_total_aggregation": "500"}
    assert rate("percentage", props, 550, events=[200, 250, 100]) == Decimal("1.30")


def test_percentage_free_window_closes_at_the_first_limit_reached() -> None:
    props = {
        "rate": "1",
        "free_units_per_events": 3,
        "free_units_per_total_aggregation": "150",
    }
    # Event 2 crosses 150 (pays on 50); event 3 is no longer free.
    assert rate("percentage", props, 400, events=[100, 100, 200]) == Decimal("2.50")


def test_percentage_per_transaction_bounds() -> None:
    props = {
        "rate": "1",
        "per_transaction_min_amount": "1",
        "per_transaction_max_amount": "5",
    }
    assert rate("percentage", props, 1010, events=[10, 1000]) == Decimal("6")


def test_percentage_on_the_total_alone() -> None:
    props = {"rate": "2.5", "free_units_per_total_aggregation": "100"}
    assert rate("percentage", props, 500) == Decimal("10.0")


@pytest.mark.parametrize(("quantity", "expected"), [(3, 13_000), (8, 21_500), (0, 0), (5, 15_000)])
def test_graduated_in_cents(quantity: int, expected: int) -> None:
    props = {"graduated_ranges": ranges((0, 5, "1000", "10000"), (6, None, "500", "5000"))}
    assert rate("graduated", props, quantity) == expected


def test_graduated_accepts_tiers_that_start_at_the_previous_end() -> None:
    props = {"graduated_ranges": ranges((0, 5, "1000", "10000"), (5, None, "500", "5000"))}
    assert rate("graduated", props, 8) == 21_500


def test_graduated_splits_fractional_quantities_at_the_boundary() -> None:
    props = {"graduated_ranges": ranges((0, 10, "1", "0"), (11, None, "0.5", "0"))}
    assert rate("graduated", props, "10.5") == Decimal("10.25")


def test_graduated_percentage_follows_the_tiers_of_the_total() -> None:
    props = {
        "graduated_percentage_ranges": [
            {"from_value": 0, "to_value": 1000, "rate": "1", "flat_amount": "200"},
            {"from_value": 1001, "to_value": 10000, "rate": "2", "flat_amount": "300"},
            {"from_value": 10001, "to_value": None, "rate": "3", "flat_amount": "400"},
        ]
    }
    assert rate("graduated_percentage", props, 500) == Decimal("205")
    assert rate("graduated_percentage", props, 1050) == Decimal("511")
    assert rate("graduated_percentage", props, 0) == 0


def test_properties_changed_in_place_are_parsed_again() -> None:
    charge = usage_charge("standard", {"amount": "2"})
    assert price_charge(charge, "charges.0").rate(Decimal(3)).amount == 6
    charge.properties["amount"] = "5"
    assert price_charge(charge, "charges.0").rate(Decimal(3)).amount == 15
    charge.properties["amount"] = 0.5
    with pytest.raises(RatingError):
        price_charge(charge, "charges.0")
