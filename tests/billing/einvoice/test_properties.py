"""Sums that must hold to the cent for any invoice: the breakdown adds up to the totals
(BR-CO-13..15), each group's VAT is its taxable amount times its rate within a minor unit
(BR-CO-17), and the official rules agree."""

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.einvoice import build_document, validate
from billing.einvoice.ubl import render_ubl
from billing.money import round_money
from schemas.invoice import Invoice, TaxLine
from tests.billing.einvoice.builders import (
    ISSUED,
    SELLER,
    customer,
    draft,
    line,
    vat_line,
    with_tax_lines,
)

GERMAN = customer("DE")
cents = st.integers(min_value=1, max_value=10_000_000).map(lambda value: Decimal(value) / 100)
rates = st.sampled_from(["0.19", "0.07", "0.20", "0.255"])


@st.composite
def invoices(draw: st.DrawFn) -> Invoice:
    amounts = draw(st.lists(cents, min_size=1, max_size=6))
    chosen = [draw(rates) for _ in amounts]
    lines = [line(format(amount, "f"), line_id=f"L{index}") for index, amount in enumerate(amounts)]
    taxes: list[TaxLine] = []
    for item, rate in zip(lines, chosen, strict=True):
        tax = round_money(item.amount * Decimal(rate), "EUR")
        taxes.append(vat_line(item.line_id, rate, format(item.amount, "f"), format(tax, "f")))
    return with_tax_lines(draft(*lines), *taxes)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(invoices())
def test_the_breakdown_adds_up_to_the_totals(invoice: Invoice) -> None:
    document = build_document(
        invoice, number="RE-P", issue_date=ISSUED, seller=SELLER, customer=GERMAN
    )
    totals = document.totals
    assert sum(group.taxable_amount for group in document.breakdown) == totals.tax_exclusive
    assert sum(group.tax_amount for group in document.breakdown) == totals.tax_total
    assert totals.tax_exclusive == invoice.subtotal
    assert totals.tax_inclusive == totals.tax_exclusive + totals.tax_total == invoice.total
    assert len({(group.category, group.percent) for group in document.breakdown}) == len(
        document.breakdown
    )
    for group in document.breakdown:
        expected = group.taxable_amount * group.percent / 100
        # line rounding may leave each group within a cent per line of the group rate
        lines = sum(1 for item in document.lines if item.percent == group.percent)
        assert abs(group.tax_amount - expected) <= Decimal("0.01") * lines
    # BR-CO-17 allows one unit of the currency between the two; line rounding stays inside
    assert validate(render_ubl(document)).fatal == []
