"""Whole runs: which fees a period bills, proration, commitments, discounts, credit notes."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from billing.rating import RatingError, rate_amendment, rate_contract
from schemas.contract import Contract
from schemas.invoice import Invoice
from tests.billing.builders import contract, fee, usage, usage_charge

JUN, JUL, AUG = date(2025, 6, 1), date(2025, 7, 1), date(2025, 8, 1)


def run(
    plan: Contract,
    start: date = JUN,
    end: date = JUL,
    quantities: dict[str, Any] | None = None,
    milestone_id: str | None = None,
) -> Invoice:
    return rate_contract(
        contract=plan,
        usage=usage(start, end, quantities or {}),
        period_start=start,
        period_end=end,
        invoice_id="inv-1",
        milestone_id=milestone_id,
    )


def amounts(invoice: Invoice) -> dict[str, str]:
    return {line.charge_id: format(line.amount, "f") for line in invoice.lines}


def test_invoice_is_untaxed_and_adds_up() -> None:
    plan = contract(fee("500.00"), usage_charge("standard", {"amount": "0.002"}))
    invoice = run(plan, quantities={"calls": "12345"})
    assert amounts(invoice) == {"fee": "500.00", "standard-calls": "24.69"}
    assert invoice.lines[1].unrounded_amount == Decimal("24.690")
    assert invoice.lines[1].quantity == Decimal("12345")
    assert invoice.lines[1].unit_amount == Decimal("0.002")
    assert invoice.subtotal == invoice.total == Decimal("524.69")
    assert invoice.tax_total == 0
    assert invoice.tax_lines == []


def test_arrears_fee_bills_the_closing_period_and_advance_fee_the_next() -> None:
    plan = contract(fee("10", charge_id="arrears"), fee("20", advance=True, charge_id="advance"))
    invoice = run(plan)
    by_id = {line.charge_id: line for line in invoice.lines}
    assert (by_id["arrears"].period_start, by_id["arrears"].period_end) == (JUN, JUL)
    assert (by_id["advance"].period_start, by_id["advance"].period_end) == (JUL, AUG)


def test_first_period_bills_activation_and_both_advance_periods() -> None:
    plan = contract(
        fee("300", advance=True),
        fee("1000", kind="one_time", charge_id="setup"),
        start_date=date(2025, 6, 21),
    )
    invoice = run(plan)
    # 10 of 30 June days, then all of July, then the one-time fee.
    assert [(ln.charge_id, str(ln.amount)) for ln in invoice.lines] == [
        ("setup", "1000.00"),
        ("fee", "100.00"),
        ("fee", "300.00"),
    ]
    assert invoice.lines[1].period_start == date(2025, 6, 21)


def test_later_periods_bill_no_one_time_fee() -> None:
    plan = contract(fee("1000", kind="one_time", charge_id="setup"), fee("5"))
    assert amounts(run(plan)) == {"fee": "5.00"}


def test_termination_prorates_arrears_and_stops_advance() -> None:
    plan = contract(
        fee("31", charge_id="arrears"),
        fee("30", advance=True, charge_id="advance"),
        end_date=date(2025, 7, 11),
    )
    assert amounts(run(plan, JUL, AUG)) == {"arrears": "10.00"}
    # The June run bills July in advance only up to the end date.
    assert amounts(run(plan)) == {"arrears": "31.00", "advance": "9.68"}


def test_milestone_run_bills_only_its_fee() -> None:
    plan = contract(
        fee("500"),
        fee("2500", kind="one_time", charge_id="go-live").model_copy(
            update={"milestone_id": "go-live"}
        ),
        fee("900", kind="one_time", charge_id="setup"),
        usage_charge("standard", {"amount": "1"}),
        discounts=[{"id": "d", "description": "d", "kind": "percentage", "value": "50"}],
    )
    invoice = run(plan, milestone_id="go-live")
    assert amounts(invoice) == {"go-live": "2500.00"}


def test_minimum_commitment_true_up() -> None:
    plan = contract(
        fee("100", advance=True),
        usage_charge("standard", {"amount": "0.5"}),
        minimum_commitment="250",
    )
    invoice = run(plan, quantities={"calls": "99"})
    # 100 (June's fee, billed in advance in May) + 49.50 usage: 100.50 short of 250.
    assert amounts(invoice)["minimum_commitment"] == "100.50"
    assert "true-up" in invoice.lines[-1].rule


def test_minimum_commitment_met() -> None:
    plan = contract(usage_charge("standard", {"amount": "1"}), minimum_commitment="100")
    assert "minimum_commitment" not in amounts(run(plan, quantities={"calls": 100}))


def test_minimum_commitment_is_prorated_for_a_partial_first_period() -> None:
    plan = contract(
        usage_charge("standard", {"amount": "1"}),
        minimum_commitment="300",
        start_date=date(2025, 6, 16),
    )
    assert amounts(run(plan, quantities={"calls": 0}))["minimum_commitment"] == "150.00"


def test_discount_order_percentages_then_fixed_never_below_zero() -> None:
    plan = contract(
        fee("100"),
        discounts=[
            {"id": "fixed", "description": "Coupon", "kind": "fixed_amount", "value": "90"},
            {"id": "ten", "description": "10%", "kind": "percentage", "value": "10"},
            {"id": "five", "description": "5%", "kind": "percentage", "value": "5"},
        ],
    )
    invoice = run(plan)
    assert amounts(invoice) == {
        "fee": "100.00",
        "ten": "-10.00",
        "five": "-4.50",
        "fixed": "-85.50",
    }
    assert invoice.total == 0
    assert "capped" in invoice.notes[0]


def test_zero_minor_unit_currency_rounds_to_whole_yen() -> None:
    plan = contract(usage_charge("standard", {"amount": "0.7"}), currency="JPY")
    invoice = run(plan, quantities={"calls": "3"})
    assert str(invoice.lines[0].amount) == "2"
    assert invoice.lines[0].unrounded_amount == Decimal("2.1")


def test_three_decimal_currency_rounds_half_up() -> None:
    plan = contract(usage_charge("standard", {"amount": "0.0005"}), currency="BHD")
    assert str(run(plan, quantities={"calls": "1"}).lines[0].amount) == "0.001"


def test_upgrade_halfway_credits_the_old_plan_and_charges_the_new() -> None:
    old = contract(fee("10", advance=True, charge_id="plan"))
    new = contract(fee("20", advance=True, charge_id="plan"))
    # 30-day June: the 16th starts the second half.
    documents = rate_amendment(
        previous_contract=old,
        contract=new,
        change_date=date(2025, 6, 16),
        invoice_id="inv-up",
        credit_note_id="cn-up",
    )
    invoice, credit = documents
    assert (invoice.document_type, invoice.total) == ("invoice", Decimal("10.00"))
    assert (credit.document_type, credit.total) == ("credit_note", Decimal("5.00"))
    assert credit.invoice_id == "cn-up"
    assert all(line.amount > 0 for line in credit.lines)
    assert (credit.period_start, credit.period_end) == (date(2025, 6, 16), JUL)


def test_termination_mid_period_is_a_credit_note_only() -> None:
    old = contract(fee("31", advance=True), fee("7"))
    ended = old.model_copy(update={"end_date": date(2025, 7, 21)})
    documents = rate_amendment(
        previous_contract=old,
        contract=ended,
        change_date=date(2025, 7, 21),
        invoice_id="i",
        credit_note_id="c",
    )
    assert [(d.document_type, str(d.total)) for d in documents] == [("credit_note", "11.00")]


def test_arrears_only_change_needs_no_documents() -> None:
    documents = rate_amendment(
        previous_contract=contract(fee("10")),
        contract=contract(fee("20")),
        change_date=date(2025, 6, 16),
        invoice_id="i",
        credit_note_id="c",
    )
    assert documents == []


def test_events_are_ignored_by_models_that_rate_the_quantity() -> None:
    plan = contract(usage_charge("standard", {"amount": "1"}))
    invoice = rate_contract(
        contract=plan,
        usage=usage(JUN, JUL, {"calls": "3"}, events={"calls": ["1"]}),
        period_start=JUN,
        period_end=JUL,
        invoice_id="i",
    )
    assert invoice.total == Decimal("3.00")


def test_quarterly_anniversary_contract_bills_the_next_quarter_in_advance() -> None:
    plan = contract(
        fee("300", advance=True),
        billing_interval="quarterly",
        alignment="anniversary",
        start_date=date(2025, 2, 15),
    )
    invoice = run(plan, date(2025, 5, 15), date(2025, 8, 15))
    line = invoice.lines[0]
    assert (line.period_start, line.period_end, str(line.amount)) == (
        date(2025, 8, 15),
        date(2025, 11, 15),
        "300.00",
    )


def test_amendment_in_the_first_period_is_refused() -> None:
    old = contract(fee("10", advance=True), start_date=date(2025, 6, 1))
    with pytest.raises(RatingError) as caught:
        rate_amendment(
            previous_contract=old,
            contract=old,
            change_date=date(2025, 6, 10),
            invoice_id="i",
            credit_note_id="c",
        )
    assert caught.value.field == "change_date"
