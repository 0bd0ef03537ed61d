"""Properties that hold for every contract: sums to the cent, monotone tiers, proration."""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.charges import price_charge
from billing.money import quantum, round_money
from billing.periods import BillingCalendar, Period
from billing.proration import prorate
from billing.rating import rate_contract
from billing.tax import Seller, apply_tax
from schemas.contract import Charge
from schemas.customer import Customer
from tests.billing.builders import contract, fee, usage, usage_charge
from tests.billing.flat_tax import FlatRateEngine

CURRENCIES = st.sampled_from(["USD", "EUR", "JPY", "BHD"])
PRICES = st.decimals(min_value="0", max_value="1000", places=4, allow_nan=False)
QUANTITIES = st.decimals(min_value="0", max_value="1000000", places=3, allow_nan=False)
DAYS = st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31))


@st.composite
def tiers(draw: st.DrawFn) -> list[dict[str, Any]]:
    bounds = sorted(draw(st.sets(st.integers(1, 100_000), min_size=0, max_size=4)))
    first = draw(st.sampled_from([0, 1]))
    ranges = []
    lower = first
    for upper in [*bounds, None]:
        ranges.append(
            {
                "from_value": lower,
                "to_value": upper,
                "per_unit_amount": str(draw(PRICES)),
                "flat_amount": str(draw(PRICES)),
            }
        )
        lower = (upper or 0) + draw(st.sampled_from([0, 1]))
    return ranges


@st.composite
def usage_charges(draw: st.DrawFn) -> list[Charge]:
    metrics = ["a", "b", "c", "d", "e"]
    charges = []
    for metric in metrics[: draw(st.integers(0, 5))]:
        model = draw(st.sampled_from(["standard", "graduated", "volume", "package", "percentage"]))
        props: dict[str, Any]
        if model == "standard":
            props = {"amount": str(draw(PRICES))}
        elif model == "graduated":
            props = {"graduated_ranges": draw(tiers())}
        elif model == "volume":
            props = {"volume_ranges": draw(tiers())}
        elif model == "package":
            props = {
                "amount": str(draw(PRICES)),
                "package_size": draw(st.integers(1, 1000)),
                "free_units": draw(st.integers(0, 1000)),
            }
        else:
            props = {"rate": str(draw(PRICES) / 10)}
        charges.append(usage_charge(model, props, metric=metric))
    return charges


JAN, FEB = date(2025, 1, 1), date(2025, 2, 1)
CUSTOMER = Customer(id="cust-1", name="Acme", email="ap@acme.test", currency="EUR")


@settings(max_examples=150, deadline=None)
@given(
    charges=usage_charges(),
    fees=st.lists(PRICES, max_size=3),
    quantities=st.lists(QUANTITIES, min_size=5, max_size=5),
    currency=CURRENCIES,
    tax_rate=st.decimals(min_value="0", max_value="0.3", places=3),
    percent_off=st.decimals(min_value="0", max_value="100", places=2),
)
def test_total_is_the_sum_of_rounded_lines_plus_tax(
    charges: list[Charge],
    fees: list[Decimal],
    quantities: list[Decimal],
    currency: str,
    tax_rate: Decimal,
    percent_off: Decimal,
) -> None:
    fixed = [fee(str(amount), charge_id=f"fee-{n}") for n, amount in enumerate(fees)]
    discount = {"id": "d", "description": "d", "kind": "percentage", "value": str(percent_off)}
    plan = contract(*fixed, *charges, currency=currency, discounts=[discount])
    reported = dict(zip("abcde", quantities, strict=True))
    invoice = rate_contract(
        contract=plan,
        usage=usage(JAN, FEB, dict(reported)),
        period_start=JAN,
        period_end=FEB,
        invoice_id="i",
    )
    taxed = apply_tax(
        invoice,
        FlatRateEngine(rate=tax_rate).evaluate(invoice, seller=Seller(), customer=CUSTOMER),
    )
    step = quantum(currency)
    for line in taxed.lines:
        assert line.amount == round_money(line.unrounded_amount, currency)
        assert line.amount % step == 0
    lines = sum((line.amount for line in taxed.lines), Decimal(0))
    tax = sum((line.tax_amount for line in taxed.tax_lines), Decimal(0))
    assert taxed.subtotal == lines
    assert taxed.total == lines + tax
    assert taxed.subtotal >= 0


@settings(max_examples=100, deadline=None)
@given(charges=usage_charges(), fees=st.lists(PRICES, max_size=3), commitment=PRICES)
def test_zero_usage_bills_only_fixed_fees_and_minimums(
    charges: list[Charge], fees: list[Decimal], commitment: Decimal
) -> None:
    fixed = [fee(str(amount), charge_id=f"fee-{n}") for n, amount in enumerate(fees)]
    plan = contract(*fixed, *charges, minimum_commitment=str(commitment))
    invoice = rate_contract(
        contract=plan,
        usage=usage(JAN, FEB, dict.fromkeys("abcde", "0")),
        period_start=JAN,
        period_end=FEB,
        invoice_id="i",
    )
    billed = {line.charge_id: line.amount for line in invoice.lines if line.amount}
    assert set(billed) <= {f"fee-{n}" for n in range(len(fees))} | {"minimum_commitment"}
    fee_total = sum((round_money(amount, "USD") for amount in fees), Decimal(0))
    assert invoice.total == max(fee_total, round_money(commitment, "USD"))


@settings(max_examples=200, deadline=None)
@given(ranges=tiers(), a=QUANTITIES, b=QUANTITIES)
def test_graduated_never_falls_as_quantity_rises(
    ranges: list[dict[str, Any]], a: Decimal, b: Decimal
) -> None:
    priced = price_charge(usage_charge("graduated", {"graduated_ranges": ranges}), "charges.0")
    low, high = sorted([a, b])
    assert priced.rate(low).amount <= priced.rate(high).amount


@given(fee_amount=PRICES, day=DAYS, interval=st.sampled_from(["monthly", "quarterly", "annual"]))
def test_prorating_a_whole_period_is_the_full_fee(
    fee_amount: Decimal, day: date, interval: str
) -> None:
    period = BillingCalendar.for_contract(
        interval=interval,  # type: ignore[arg-type]
        alignment="anniversary",
        start_date=day,
        bill_cycle_day=None,
    ).containing(day + timedelta(days=40))
    assert prorate(fee_amount, segment=period, period=period).amount == fee_amount


@given(
    fee_amount=PRICES,
    start=DAYS,
    length=st.integers(1, 366),
    cut=st.integers(1, 365),
    currency=CURRENCIES,
)
def test_adjacent_segments_add_up_within_a_minor_unit_each(
    fee_amount: Decimal, start: date, length: int, cut: int, currency: str
) -> None:
    period = Period(start=start, end=start + timedelta(days=length))
    split = start + timedelta(days=min(cut, length - 1) or 1)
    if split >= period.end:
        return
    parts = [
        prorate(fee_amount, segment=Period(start=start, end=split), period=period),
        prorate(fee_amount, segment=Period(start=split, end=period.end), period=period),
    ]
    rounded = sum((round_money(p.amount, currency) for p in parts), Decimal(0))
    # Each part is at most half a minor unit from its exact share, and the fee at most half a
    # unit from its rounding: under 1.5 units in all, and both sides are whole units, so one.
    assert abs(rounded - round_money(fee_amount, currency)) <= quantum(currency)
