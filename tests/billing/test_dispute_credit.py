"""A dispute's credit note: the credited share on every line and tax line, rounded half-up,
the residue on the largest, the total exactly the amount; and the amounts it refuses."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.dispute_credit import dispute_credit_note
from schemas.invoice import Invoice, InvoiceLine, TaxLine


def _line(line_id: str, amount: str) -> InvoiceLine:
    return InvoiceLine(
        line_id=line_id,
        charge_id=line_id,
        description=f"charge {line_id}",
        charge_model="flat",
        amount=Decimal(amount),
        unrounded_amount=Decimal(amount),
        rule="flat fee",
    )


def _vat(line_id: str, taxable: str, tax: str) -> TaxLine:
    return TaxLine(
        line_id=line_id,
        country="DE",
        jurisdiction="DE",
        level="country",
        tax_type="vat",
        rate=Decimal("0.19"),
        taxable_amount=Decimal(taxable),
        tax_amount=Decimal(tax),
        unrounded_tax_amount=Decimal(tax),
        taxability_reason="standard_rated",
        rule_id="de-standard",
        source="test",
        category_code="S",
    )


def _invoice() -> Invoice:
    """100.00 + 33.33, 19% VAT on each (19.00 and 6.33): 158.66 in all."""
    return Invoice(
        invoice_id="INV-1",
        contract_id="c-1",
        customer_id="cust-1",
        currency="EUR",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 2, 1),
        lines=[_line("a", "100.00"), _line("b", "33.33")],
        tax_lines=[_vat("a", "100.00", "19.00"), _vat("b", "33.33", "6.33")],
        subtotal=Decimal("133.33"),
        tax_total=Decimal("25.33"),
        total=Decimal("158.66"),
    )


def test_the_credited_share_is_rounded_per_line_and_the_residue_goes_on_the_largest() -> None:
    # Share 50 / 158.66. Lines: 31.5139… → 31.51, 10.5036… → 10.50 (42.01). Tax: 5.9877… →
    # 5.99, 1.9948… → 1.99 (7.98, as 25.33 × share = 7.9825… → 7.98). 50.00 − 7.98 − 42.01
    # leaves 0.01 for the largest line: 31.52.
    note = dispute_credit_note(
        _invoice(), amount=Decimal("50.00"), credit_note_id="INV-1:c1", reason="seats"
    )
    assert [line.amount for line in note.lines] == [Decimal("31.52"), Decimal("10.50")]
    assert [tax.tax_amount for tax in note.tax_lines] == [Decimal("5.99"), Decimal("1.99")]
    assert (note.subtotal, note.tax_total, note.total) == (
        Decimal("42.02"),
        Decimal("7.98"),
        Decimal("50.00"),
    )
    assert (note.invoice_id, note.document_type) == ("INV-1:c1", "credit_note")
    assert note.notes == ["Credit for disputed invoice INV-1: seats"]


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        ("0", "amount: 0 must be more than zero"),
        ("-5.00", "amount: -5.00 must be more than zero"),
        ("10.005", "amount: 10.005 is finer than EUR's minor unit"),
        ("158.67", "amount: 158.67 is more than the invoice's total 158.66"),
    ],
)
def test_an_amount_it_cannot_credit_is_refused_naming_the_field(amount: str, reason: str) -> None:
    with pytest.raises(ValueError) as refused:
        dispute_credit_note(_invoice(), amount=Decimal(amount), credit_note_id="INV-1:c1")
    assert str(refused.value) == reason


def test_an_invoice_without_lines_is_refused() -> None:
    lineless = _invoice().model_copy(update={"lines": [], "tax_lines": []})
    with pytest.raises(ValueError, match="^invoice: nothing was invoiced to credit$"):
        dispute_credit_note(lineless, amount=Decimal("1.00"), credit_note_id="x")


@given(cents=st.integers(min_value=1, max_value=15866))
def test_any_amount_up_to_the_total_credits_exactly_that_amount(cents: int) -> None:
    amount = Decimal(cents).scaleb(-2)
    note = dispute_credit_note(_invoice(), amount=amount, credit_note_id="INV-1:c1")
    assert note.total == amount
    assert note.subtotal + note.tax_total == amount
    assert sum((line.amount for line in note.lines), Decimal(0)) == note.subtotal
    assert sum((tax.tax_amount for tax in note.tax_lines), Decimal(0)) == note.tax_total
    assert all(line.amount == line.amount.quantize(Decimal("0.01")) for line in note.lines)
