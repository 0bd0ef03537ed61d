"""Activation invoices and changes inside the first period.

Expected values are computed by hand in each test from the published examples:

- Lago, "Assign a plan" (docs.getlago.com/guide/subscriptions/assign-plan): a monthly plan of
  $50 assigned on August 10th under calendar billing is charged 22 days × $50 / 31 days =
  $35.48 for August; the next invoices cover full calendar months.
- Kill Bill, "Subscription Lifecycle" (docs.killbill.io/latest/aviate-subscription-lifecycle.html),
  immediate change: a prorated credit for the unused portion of the current plan and a new
  charge for the remaining portion of the billing period on the new plan.
"""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.rating import RatingError, billing_calendar, rate_amendment, rate_contract
from schemas.contract import Contract
from schemas.invoice import Invoice
from tests.billing.builders import contract, fee, usage, usage_charge


def activate(plan: Contract, start: date, end: date) -> Invoice:
    return rate_contract(
        contract=plan,
        usage=usage(start, end),
        period_start=start,
        period_end=end,
        invoice_id="act-1",
        activation=True,
    )


def close(
    plan: Contract,
    start: date,
    end: date,
    *,
    billed: bool,
    quantities: dict[str, str | int | Decimal] | None = None,
) -> Invoice:
    return rate_contract(
        contract=plan,
        usage=usage(start, end, quantities or {}),
        period_start=start,
        period_end=end,
        invoice_id="close-1",
        activation_billed=billed,
    )


def change(old: Contract, new: Contract, on: date, *, billed: bool = True) -> dict[str, Invoice]:
    documents = rate_amendment(
        previous_contract=old,
        contract=new,
        change_date=on,
        invoice_id="amd-1",
        credit_note_id="amd-1-cn",
        activation_billed=billed,
    )
    return {d.document_type: d for d in documents}


def lines(invoice: Invoice) -> list[tuple[str, str, date | None, date | None]]:
    return [(ln.charge_id, str(ln.amount), ln.period_start, ln.period_end) for ln in invoice.lines]


def test_lago_calendar_example_bills_the_first_days_at_activation() -> None:
    # Lago: $50 monthly from August 10th: 22 days × 50 / 31 = 35.48 (35.4838… half-up).
    plan = contract(fee("50", advance=True, charge_id="premium"), start_date=date(2026, 8, 10))
    invoice = activate(plan, date(2026, 8, 10), date(2026, 9, 1))
    assert lines(invoice) == [("premium", "35.48", date(2026, 8, 10), date(2026, 9, 1))]
    assert (invoice.period_start, invoice.period_end) == (date(2026, 8, 10), date(2026, 9, 1))
    assert invoice.total == Decimal("35.48")


def test_activation_on_20_march_then_the_first_close_bills_april_only() -> None:
    # 120/month in advance from 20 March: 12/31 × 120 = 46.4516… → 46.45 on 20 March,
    # then 120.00 for April on 1 April (not 166.45).
    plan = contract(fee("120", advance=True), start_date=date(2026, 3, 20))
    assert activate(plan, date(2026, 3, 20), date(2026, 4, 1)).total == Decimal("46.45")
    first_close = close(plan, date(2026, 3, 1), date(2026, 4, 1), billed=True)
    assert lines(first_close) == [("fee", "120.00", date(2026, 4, 1), date(2026, 5, 1))]


def test_a_first_close_without_an_activation_invoice_bills_as_before() -> None:
    # The contract activated before activation invoices existed: 46.45 + 120.00 = 166.45.
    plan = contract(fee("120", advance=True), start_date=date(2026, 3, 20))
    assert close(plan, date(2026, 3, 1), date(2026, 4, 1), billed=False).total == Decimal("166.45")


def test_activation_bills_one_time_fees_without_a_milestone_and_nothing_in_arrears() -> None:
    plan = contract(
        fee("300", advance=True, charge_id="platform"),
        fee("40", charge_id="support"),  # in arrears: billed at the close
        fee("1000", kind="one_time", charge_id="setup"),
        fee("5000", kind="one_time", charge_id="golive").model_copy(
            update={"milestone_id": "go-live"}
        ),
        usage_charge("standard", {"amount": "0.01"}),
        start_date=date(2026, 6, 21),
    )
    invoice = activate(plan, date(2026, 6, 21), date(2026, 7, 1))
    # 10 of 30 June days of 300 = 100.00; setup in full; no golive, support or usage.
    assert lines(invoice) == [
        ("setup", "1000.00", date(2026, 6, 21), date(2026, 7, 1)),
        ("platform", "100.00", date(2026, 6, 21), date(2026, 7, 1)),
    ]
    first_close = close(
        plan, date(2026, 6, 1), date(2026, 7, 1), billed=True, quantities={"calls": "1000"}
    )
    # support 10/30 of 40 = 13.33; July's platform fee; usage 1000 × 0.01.
    assert sorted((c, a) for c, a, _, _ in lines(first_close)) == [
        ("platform", "300.00"),
        ("standard-calls", "10.00"),
        ("support", "13.33"),
    ]


def test_activation_with_no_fee_to_bill_has_no_lines() -> None:
    plan = contract(fee("40"), start_date=date(2026, 6, 21))
    invoice = activate(plan, date(2026, 6, 21), date(2026, 7, 1))
    assert invoice.lines == [] and invoice.total == Decimal("0.00")


def test_activation_outside_the_first_period_is_refused() -> None:
    plan = contract(fee("120", advance=True), start_date=date(2026, 3, 20))
    with pytest.raises(RatingError) as caught:
        activate(plan, date(2026, 4, 1), date(2026, 5, 1))
    assert caught.value.field == "period_start"
    assert "first period 2026-03-01..2026-04-01" in caught.value.message


def test_activation_of_a_contract_that_ends_on_its_start_is_refused() -> None:
    plan = contract(
        fee("120", advance=True), start_date=date(2026, 3, 20), end_date=date(2026, 3, 20)
    )
    with pytest.raises(RatingError) as caught:
        activate(plan, date(2026, 3, 20), date(2026, 4, 1))
    assert caught.value.field == "end_date"


def test_activation_with_a_milestone_is_refused() -> None:
    plan = contract(fee("120", advance=True), start_date=date(2026, 3, 20))
    with pytest.raises(RatingError) as caught:
        rate_contract(
            contract=plan,
            usage=usage(date(2026, 3, 20), date(2026, 4, 1)),
            period_start=date(2026, 3, 20),
            period_end=date(2026, 4, 1),
            invoice_id="x",
            milestone_id="go-live",
            activation=True,
        )
    assert caught.value.field == "milestone_id"


def test_kill_bill_upgrade_in_the_first_month_credits_the_old_and_charges_the_new() -> None:
    # Activated 20 March at 120/month, upgraded to 240/month on 25 March: 7 of 31 days left.
    # Credit 120 × 7/31 = 27.0967… → 27.10; charge 240 × 7/31 = 54.1935… → 54.19.
    old = contract(fee("120", advance=True), start_date=date(2026, 3, 20))
    new = contract(fee("240", advance=True), start_date=date(2026, 3, 20))
    documents = change(old, new, date(2026, 3, 25))
    assert lines(documents["credit_note"]) == [
        ("fee", "27.10", date(2026, 3, 25), date(2026, 4, 1))
    ]
    assert lines(documents["invoice"]) == [("fee", "54.19", date(2026, 3, 25), date(2026, 4, 1))]
    # The first close then bills April at the new price, once.
    assert close(new, date(2026, 3, 1), date(2026, 4, 1), billed=True).total == Decimal("240.00")


def test_downgrade_in_the_first_quarter_of_a_calendar_quarterly_contract() -> None:
    # Q1 2026 is 90 days; activated 10 February: 50 days. 3000 × 50/90 = 1666.67 at activation.
    # Downgrade to 1500/quarter on 1 March, 31 days left: credit 3000 × 31/90 = 1033.33,
    # charge 1500 × 31/90 = 516.67 (516.666… half-up).
    start = date(2026, 2, 10)
    old = contract(fee("3000", advance=True), billing_interval="quarterly", start_date=start)
    new = contract(fee("1500", advance=True), billing_interval="quarterly", start_date=start)
    assert activate(old, start, date(2026, 4, 1)).total == Decimal("1666.67")
    documents = change(old, new, date(2026, 3, 1))
    assert documents["credit_note"].total == Decimal("1033.33")
    assert documents["invoice"].total == Decimal("516.67")


def test_termination_in_the_first_quarter_is_a_credit_note_only() -> None:
    start = date(2026, 2, 10)
    old = contract(fee("3000", advance=True), billing_interval="quarterly", start_date=start)
    ended = old.model_copy(update={"end_date": date(2026, 3, 1)})
    documents = change(old, ended, date(2026, 3, 1))
    assert set(documents) == {"credit_note"}
    assert documents["credit_note"].total == Decimal("1033.33")


def test_upgrade_in_the_first_year_of_an_anniversary_annual_contract() -> None:
    # 15 June 2026 to 15 June 2027 is 365 days; 92 used by 15 September, 273 left.
    # Activation: the whole year, 12000.00. Credit 12000 × 273/365 = 8975.3424… → 8975.34;
    # charge 24000 × 273/365 = 17950.6849… → 17950.68.
    start = date(2026, 6, 15)
    terms: dict[str, Any] = {
        "billing_interval": "annual",
        "alignment": "anniversary",
        "start_date": start,
    }
    old = contract(fee("12000", advance=True), **terms)
    new = contract(fee("24000", advance=True), **terms)
    assert activate(old, start, date(2027, 6, 15)).total == Decimal("12000.00")
    documents = change(old, new, date(2026, 9, 15))
    assert documents["credit_note"].total == Decimal("8975.34")
    assert documents["invoice"].total == Decimal("17950.68")


def test_upgrade_in_the_first_month_of_an_anniversary_monthly_contract() -> None:
    # Periods start on the 20th: 20 March–20 April is 31 days. Upgrade on 4 April, 16 left.
    # Credit 100 × 16/31 = 51.6129… → 51.61; charge 200 × 16/31 = 103.2258… → 103.23.
    start = date(2026, 3, 20)
    old = contract(fee("100", advance=True), alignment="anniversary", start_date=start)
    new = contract(fee("200", advance=True), alignment="anniversary", start_date=start)
    documents = change(old, new, date(2026, 4, 4))
    assert documents["credit_note"].total == Decimal("51.61")
    assert documents["invoice"].total == Decimal("103.23")


def test_a_change_in_the_first_period_without_an_activation_invoice_is_still_refused() -> None:
    old = contract(fee("120", advance=True), start_date=date(2026, 3, 20))
    with pytest.raises(RatingError) as caught:
        change(old, old, date(2026, 3, 25), billed=False)
    assert caught.value.field == "change_date"
    assert "no activation invoice" in caught.value.message


@settings(max_examples=200, deadline=None)
@given(
    offset=st.integers(min_value=0, max_value=364),
    advance=st.decimals(min_value="0", max_value="100000", places=2, allow_nan=False),
    setup=st.decimals(min_value="0", max_value="10000", places=2, allow_nan=False),
    interval=st.sampled_from(["monthly", "quarterly", "annual"]),
    alignment=st.sampled_from(["calendar", "anniversary"]),
)
def test_activation_and_the_first_close_bill_what_the_first_close_billed_alone(
    offset: int, advance: Decimal, setup: Decimal, interval: str, alignment: str
) -> None:
    # Splitting the first period's bill between activation and close moves lines, never cents.
    start = date(2026, 1, 1) + timedelta(days=offset)
    plan = contract(
        fee(str(advance), advance=True),
        fee(str(setup), kind="one_time", charge_id="setup"),
        billing_interval=interval,
        alignment=alignment,
        start_date=start,
    )
    first = activate(plan, start, start + timedelta(days=1))
    period = (first.period_start, first.period_end)
    whole = billing_calendar(plan).containing(start)
    assert period == (start, whole.end)
    alone = close(plan, whole.start, whole.end, billed=False)
    after = close(plan, whole.start, whole.end, billed=True)
    assert first.total + after.total == alone.total
