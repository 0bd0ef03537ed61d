"""Bad input is a RatingError that names the field and the reason, never a silent zero."""

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from billing.rating import RatingError, rate_contract
from schemas.contract import Charge, Contract
from tests.billing.builders import contract, fee, usage, usage_charge

JAN, FEB = date(2025, 1, 1), date(2025, 2, 1)


def rate(plan: Contract, quantities: dict[str, Any] | None = None, **kw: Any) -> None:
    run_usage = kw.pop("run_usage", None) or usage(JAN, FEB, quantities or {"calls": 10})
    rate_contract(
        contract=plan,
        usage=run_usage,
        period_start=kw.pop("start", JAN),
        period_end=kw.pop("end", FEB),
        invoice_id="inv-1",
        **kw,
    )


def graduated(*tiers: tuple[int, int | None]) -> Contract:
    ranges = [
        {"from_value": lo, "to_value": hi, "per_unit_amount": "1", "flat_amount": "0"}
        for lo, hi in tiers
    ]
    return contract(usage_charge("graduated", {"graduated_ranges": ranges}))


@pytest.mark.parametrize(
    ("tiers", "field", "reason"),
    [
        ([(0, 10), (5, None)], "graduated_ranges.1.from_value", "overlaps"),
        ([(0, 10), (20, None)], "graduated_ranges.1.from_value", "gap"),
        ([(11, None), (0, 10)], "graduated_ranges.0.from_value", "must start at 0"),
        ([(0, 10), (11, 30), (11, None)], "graduated_ranges.2.from_value", "overlaps"),
        ([(0, 10), (11, 5), (6, None)], "graduated_ranges.1.to_value", "ends before"),
        ([(0, 10), (11, 20)], "graduated_ranges.1.to_value", "open-ended"),
        ([(0, None), (1, None)], "graduated_ranges.0.to_value", "only the last"),
    ],
)
def test_bad_tiers_name_the_range(
    tiers: list[tuple[int, int | None]], field: str, reason: str
) -> None:
    with pytest.raises(RatingError) as caught:
        rate(graduated(*tiers))
    assert caught.value.field == f"charges.0.properties.{field}"
    assert reason in caught.value.message


def test_negative_quantity() -> None:
    plan = contract(usage_charge("standard", {"amount": "1"}))
    with pytest.raises(RatingError) as caught:
        rate(plan, {"calls": "-1"})
    assert caught.value.field == "usage.quantities.calls"
    assert "negative" in caught.value.message


def test_negative_event_value() -> None:
    plan = contract(usage_charge("percentage", {"rate": "1", "fixed_amount": "0.1"}))
    run_usage = usage(JAN, FEB, {"calls": "5"}, events={"calls": ["10", "-5"]})
    with pytest.raises(RatingError) as caught:
        rate(plan, run_usage=run_usage)
    assert caught.value.field == "usage.events.calls.1"


def test_missing_metric_is_not_a_zero() -> None:
    plan = contract(usage_charge("standard", {"amount": "1"}, metric="seats"))
    with pytest.raises(RatingError) as caught:
        rate(plan, {"calls": 3})
    assert caught.value.field == "usage.quantities.seats"
    assert "charges.0" in caught.value.message


def test_undeclared_metric_is_unknown() -> None:
    plan = contract(
        usage_charge("standard", {"amount": "1"}, metric="seats"),
        metrics=[{"code": "calls", "aggregation": "count"}],
    )
    with pytest.raises(RatingError) as caught:
        rate(plan, {"seats": 3})
    assert caught.value.field == "charges.0.metric"
    assert "unknown metric" in caught.value.message


def test_per_event_percentage_needs_events() -> None:
    plan = contract(usage_charge("percentage", {"rate": "1", "fixed_amount": "0.1"}))
    with pytest.raises(RatingError) as caught:
        rate(plan, {"calls": "100"})
    assert caught.value.field == "usage.events.calls"


def test_events_that_disagree_with_the_quantity() -> None:
    plan = contract(usage_charge("percentage", {"rate": "1"}))
    with pytest.raises(RatingError) as caught:
        rate(plan, run_usage=usage(JAN, FEB, {"calls": "100"}, events={"calls": ["10"]}))
    assert caught.value.field == "usage.events.calls"


def test_unknown_charge_model_is_refused() -> None:
    charge = Charge.model_construct(
        id="x",
        description="x",
        kind="usage",
        charge_model="dynamic",  # type: ignore[arg-type]
        properties={},
        metric="calls",
        pay_in_advance=False,
        currency=None,
        milestone_id=None,
    )
    plan = contract().model_copy(update={"charges": [charge]})
    with pytest.raises(RatingError) as caught:
        rate(plan)
    assert caught.value.field == "charges.0.charge_model"
    assert "unknown charge model" in caught.value.message


def test_schema_refuses_an_unknown_charge_model_with_its_path() -> None:
    with pytest.raises(ValidationError) as caught:
        contract(
            charges=[
                {"id": "x", "description": "x", "kind": "usage", "metric": "m"},
                {
                    "id": "y",
                    "description": "y",
                    "kind": "usage",
                    "metric": "m",
                    "charge_model": "dynamic",
                },
            ]
        )
    assert caught.value.errors()[0]["loc"] == ("charges", 1, "charge_model")


def test_currency_differing_between_contract_and_charge() -> None:
    charge = usage_charge("standard", {"amount": "1"}).model_copy(update={"currency": "EUR"})
    plan = contract().model_copy(update={"charges": [charge]})
    with pytest.raises(RatingError) as caught:
        rate(plan)
    assert caught.value.field == "charges.0.currency"
    assert "EUR differs from the contract's USD" in caught.value.message


def test_period_that_ends_before_it_starts() -> None:
    plan = contract(fee("10"))
    with pytest.raises(RatingError) as caught:
        rate(plan, start=FEB, end=JAN)
    assert caught.value.field == "period_end"


def test_period_crossing_a_billing_boundary() -> None:
    plan = contract(fee("10"))
    with pytest.raises(RatingError) as caught:
        rate(plan, end=date(2025, 2, 15), run_usage=usage(JAN, date(2025, 2, 15), {}))
    assert caught.value.field == "period_end"
    assert "crosses" in caught.value.message


def test_usage_of_another_period() -> None:
    plan = contract(usage_charge("standard", {"amount": "1"}))
    with pytest.raises(RatingError) as caught:
        rate(plan, run_usage=usage(FEB, date(2025, 3, 1), {"calls": 1}))
    assert caught.value.field == "usage.period_start"


@pytest.mark.parametrize(
    ("properties", "field"),
    [
        ({"amount": 0.05}, "charges.0.properties.amount"),
        ({}, "charges.0.properties.amount"),
        ({"amount": "ten"}, "charges.0.properties.amount"),
        ({"amount": "-1"}, "charges.0.properties.amount"),
        ({"amount": "NaN"}, "charges.0.properties.amount"),
        ({"amount": "1", "amuont": "2"}, "charges.0.properties.amuont"),
    ],
)
def test_bad_amounts_name_the_property(properties: dict[str, Any], field: str) -> None:
    with pytest.raises(RatingError) as caught:
        rate(contract(usage_charge("standard", properties)))
    assert caught.value.field == field


def test_float_in_a_tier_names_the_tier() -> None:
    ranges = [
        {"from_value": 0, "to_value": 10, "per_unit_amount": 0.1},
        {"from_value": 11, "to_value": None, "per_unit_amount": "0.05"},
    ]
    with pytest.raises(RatingError) as caught:
        rate(contract(usage_charge("volume", {"volume_ranges": ranges})))
    assert caught.value.field == "charges.0.properties.volume_ranges.0.per_unit_amount"
    assert "float" in caught.value.message


def test_package_size_must_be_positive() -> None:
    props = {"amount": "5", "package_size": 0}
    with pytest.raises(RatingError) as caught:
        rate(contract(usage_charge("package", props)))
    assert caught.value.field == "charges.0.properties.package_size"


def test_recurring_fee_must_be_a_flat_amount() -> None:
    charge = fee("10").model_copy(update={"charge_model": "graduated"})
    with pytest.raises(RatingError) as caught:
        rate(contract(charge))
    assert caught.value.field == "charges.0.charge_model"


def test_percentage_bounds_out_of_order() -> None:
    props = {"rate": "1", "per_transaction_min_amount": "5", "per_transaction_max_amount": "1"}
    with pytest.raises(RatingError) as caught:
        rate(contract(usage_charge("percentage", props)))
    assert caught.value.field == "charges.0.properties.per_transaction_max_amount"


@pytest.mark.parametrize(("kind", "value"), [("percentage", "120"), ("fixed_amount", "-1")])
def test_bad_discounts(kind: str, value: str) -> None:
    discount = {"id": "d", "description": "d", "kind": kind, "value": value}
    with pytest.raises(RatingError) as caught:
        rate(contract(fee("10"), discounts=[discount]))
    assert caught.value.field == "discounts.0.value"


def test_unknown_milestone() -> None:
    with pytest.raises(RatingError) as caught:
        rate(contract(fee("10", kind="one_time")), milestone_id="go-live")
    assert caught.value.field == "milestone_id"


def test_contract_not_active_in_the_period() -> None:
    plan = contract(fee("10"), start_date=date(2025, 3, 1))
    with pytest.raises(RatingError) as caught:
        rate(plan)
    assert caught.value.field == "period_start"
