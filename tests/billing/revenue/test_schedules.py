"""Invoice schedules: defaults by kind, overrides, credit notes, termination, bad input."""

from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from billing.rating import rate_amendment, rate_contract
from billing.revenue import (
    RevenueError,
    deferral_journal,
    line_schedule,
    recognition_journal,
    revenue_schedule,
    split_deferred,
    terminate,
)
from schemas.contract import Charge
from schemas.invoice import Invoice
from schemas.revenue import ChargeRecognition, RevenueTerms, ScheduleEntry, terms_of
from schemas.usage import UsageSummary
from tests.billing.builders import contract, fee


def _annual_invoice(recognition: str | None = None) -> tuple[Invoice, RevenueTerms]:
    charge = Charge(
        id="platform",
        description="Platform, annual",
        kind="recurring",
        properties={"amount": "12000.00"},
        **({"recognition": recognition} if recognition else {}),
    )
    terms_contract = contract(
        charge,
        start_date=date(2026, 1, 1),
        billing_interval="annual",
        product_line="platform",
    )
    invoice = rate_contract(
        contract=terms_contract,
        usage=UsageSummary(
            contract_id="c-1", period_start=date(2026, 1, 1), period_end=date(2027, 1, 1)
        ),
        period_start=date(2026, 1, 1),
        period_end=date(2027, 1, 1),
        invoice_id="INV-rev-1",
    )
    return invoice, terms_of(terms_contract)


def test_annual_fee_ratable_monthly_is_1000_a_month() -> None:
    # The example: 12,000 billed in January is 1,000 of revenue a month.
    invoice, terms = _annual_invoice("ratable_monthly")
    schedule = revenue_schedule(invoice, terms)
    assert [(e.month, format(e.amount, "f")) for e in schedule] == [
        (f"2026-{m:02d}", "1000.00") for m in range(1, 13)
    ]


def test_recurring_defaults_to_daily() -> None:
    # 12,000 over 365 days: January's 31 days earn 12,000 × 31 / 365 = 1,019.178… → 1,019.18.
    invoice, terms = _annual_invoice()
    schedule = revenue_schedule(invoice, terms)
    assert schedule[0].month == "2026-01" and schedule[0].amount == Decimal("1019.18")
    assert sum(e.amount for e in schedule) == Decimal("12000.00")


def test_deferral_journal_defers_the_future_and_recognises_the_past() -> None:
    # Billed in March for the year 2026 (ratable monthly): January and February, 2,000, are
    # recognised at once; 10,000 is deferred. Receivable 12,000 = 10,000 + 2,000.
    invoice, terms = _annual_invoice("ratable_monthly")
    posted = split_deferred(
        revenue_schedule(invoice, terms),
        billed_month="2026-03",
        product_line="platform",
    )
    journal = deferral_journal(invoice, posted)
    sides = [(j.account, format(j.debit, "f"), format(j.credit, "f")) for j in journal]
    assert sides == [
        ("1200 Accounts receivable", "12000.00", "0"),
        ("2400 Deferred revenue", "0", "10000.00"),
        ("4000 Revenue", "0", "2000.00"),
    ]


def test_recognition_journal_per_product_line_and_credit_notes_net() -> None:
    entries = split_deferred(
        [
            ScheduleEntry(line_id="L1", month="2026-10", amount=Decimal("100.00")),
            ScheduleEntry(line_id="L2", month="2026-10", amount=Decimal("-40.00")),
        ],
        billed_month="2026-10",
        product_line="analytics",
    )
    journal = recognition_journal(entries)
    assert [(j.account, j.debit, j.credit) for j in journal] == [
        ("2400 Deferred revenue", Decimal("60.00"), Decimal(0)),
        ("4000 Revenue", Decimal(0), Decimal("60.00")),
    ]


def test_credit_note_reverses_the_unrecognised_remainder() -> None:
    # A 310.00 monthly fee billed in advance, upgraded on 16 October: the credit note gives
    # back 16..31 October, 310 × 16 / 31 = 160.00. Its schedule is -160.00 in October, the
    # part of October's fee not yet earned; the invoice for the new plan earns it instead.
    before = contract(fee("310.00", advance=True), start_date=date(2026, 1, 1))
    after = contract(fee("620.00", advance=True), start_date=date(2026, 1, 1))
    documents = rate_amendment(
        previous_contract=before,
        contract=after,
        change_date=date(2026, 10, 16),
        invoice_id="INV-up",
        credit_note_id="CN-up",
    )
    note = next(d for d in documents if d.document_type == "credit_note")
    schedule = revenue_schedule(note, terms_of(before))
    assert [(e.month, e.amount) for e in schedule] == [("2026-10", Decimal("-160.00"))]


def test_termination_stops_the_schedule() -> None:
    # 1,000 a month for 2026; terminated in April: January..March as scheduled, April takes
    # what was left, 9,000, and nothing is scheduled after April.
    schedule = [
        ScheduleEntry(line_id="L1", month=f"2026-{m:02d}", amount=Decimal("1000.00"))
        for m in range(1, 13)
    ]
    stopped = terminate(schedule, month="2026-04")
    assert [(e.month, e.amount) for e in stopped] == [
        ("2026-01", Decimal("1000.00")),
        ("2026-02", Decimal("1000.00")),
        ("2026-03", Decimal("1000.00")),
        ("2026-04", Decimal("9000.00")),
    ]


def test_unknown_method_is_refused_by_name() -> None:
    with pytest.raises(ValidationError) as caught:
        fee_charge = {"id": "f", "description": "f", "kind": "recurring", "recognition": "weekly"}
        Charge.model_validate(fee_charge)
    assert caught.value.errors()[0]["loc"] == ("recognition",)
    terms = RevenueTerms.model_construct(
        currency="USD",
        product_line="default",
        charges=[
            ChargeRecognition.model_construct(
                charge_id="fee",
                kind="recurring",
                recognition="weekly",  # type: ignore[arg-type]
            )
        ],
    )
    invoice, _ = _annual_invoice()
    lines = [line.model_copy(update={"charge_id": "fee"}) for line in invoice.lines]
    invoice = invoice.model_copy(update={"lines": lines})
    with pytest.raises(RevenueError) as refused:
        revenue_schedule(invoice, terms)
    assert refused.value.field == "charges.0.recognition" and "weekly" in str(refused.value)


def test_period_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(RevenueError) as refused:
        line_schedule(Decimal(1), "USD", "ratable_daily", date(2026, 2, 1), date(2026, 1, 1))
    assert refused.value.field == "period_end"
    invoice, terms = _annual_invoice()
    bad = invoice.lines[0].model_copy(update={"period_end": date(2025, 12, 1)})
    with pytest.raises(RevenueError) as refused:
        revenue_schedule(invoice.model_copy(update={"lines": [bad]}), terms)
    assert refused.value.field == "lines.0.period_end"


def test_currency_mismatch_is_refused() -> None:
    invoice, terms = _annual_invoice()
    with pytest.raises(RevenueError) as refused:
        revenue_schedule(invoice, terms.model_copy(update={"currency": "EUR"}))
    assert refused.value.field == "currency" and "EUR" in refused.value.message
