"""Rounding: VAT per (category, rate) group on summed nets (EN 16931 BR-CO-17), sales tax
per line or per invoice as configured; every figure adds up to the minor unit."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.money import quantum, round_money
from billing.tax import RuleTableEngine, Seller, apply_tax
from billing.tax.rule_engine import allocate
from tests.billing.tax.published_rates import PUBLISHED
from tests.billing.tax.tax_builders import customer, invoice

B2C = "individual"


def test_vat_is_rounded_once_per_group_on_the_summed_nets() -> None:
    """Three lines of 33.33 at 19%: 18.9981 rounds to 19.00 (line by line it would be 18.99)."""
    result = RuleTableEngine().evaluate(
        invoice("33.33", "33.33", "33.33"), seller=Seller(), customer=customer("DE")
    )
    (line,) = result.tax_lines
    assert line.line_id == "invoice"
    assert line.line_ids == ["L1", "L2", "L3"]
    assert line.taxable_amount == Decimal("99.99")
    assert line.unrounded_tax_amount == Decimal("18.9981")
    assert line.tax_amount == Decimal("19.00")


def test_vat_rounds_half_up() -> None:
    """0.50 at 21% = 0.105 -> 0.11 (half-up, not half-even)."""
    result = RuleTableEngine().evaluate(
        invoice("0.50"), seller=Seller(), customer=customer("ES", customer_type=B2C)
    )
    assert [line.tax_amount for line in result.tax_lines] == [Decimal("0.11")]


def test_sales_tax_is_rounded_per_line_by_default() -> None:
    result = RuleTableEngine().evaluate(
        invoice("0.10", "0.10", "0.10", currency="USD"),
        seller=Seller(),
        customer=customer("US", "US-NY"),
    )
    # 0.004 per line rounds to 0.00 three times.
    assert [line.tax_amount for line in result.tax_lines] == [Decimal("0.00")] * 3


def test_sales_tax_on_invoice_basis_rounds_the_total_and_spreads_it() -> None:
    engine = RuleTableEngine(rounding={"US-NY": "invoice"})
    result = engine.evaluate(
        invoice("0.10", "0.10", "0.10", "0.10", currency="USD"),
        seller=Seller(),
        customer=customer("US", "US-NY"),
    )
    # 4 x 0.004 = 0.016 -> 0.02, spread over the lines rounding moved furthest.
    assert sum(line.tax_amount for line in result.tax_lines) == Decimal("0.02")
    assert sorted(line.tax_amount for line in result.tax_lines) == [
        Decimal("0.00"), Decimal("0.00"), Decimal("0.01"), Decimal("0.01")
    ]  # fmt: skip


def test_invoice_basis_can_be_configured_for_a_whole_country() -> None:
    engine = RuleTableEngine(rounding={"CA": "invoice"})
    result = engine.evaluate(
        invoice("0.10", "0.10", "0.10", currency="CAD"),
        seller=Seller(),
        customer=customer("CA", "CA-BC", customer_type=B2C),
    )
    gst = [line.tax_amount for line in result.tax_lines if line.tax_type == "gst"]
    pst = [line.tax_amount for line in result.tax_lines if line.tax_type == "pst"]
    assert sum(gst) == Decimal("0.02")  # 3 x 0.005 = 0.015
    assert sum(pst) == Decimal("0.02")  # 3 x 0.007 = 0.021


def test_zero_decimal_currency_rounds_to_whole_units() -> None:
    result = RuleTableEngine().evaluate(
        invoice("1234", currency="JPY"), seller=Seller(), customer=customer("DE", customer_type=B2C)
    )
    assert [line.tax_amount for line in result.tax_lines] == [Decimal("234")]


amounts = st.decimals(
    min_value=Decimal("-5000"), max_value=Decimal("100000"), places=2, allow_nan=False
)
customers = st.sampled_from(
    [
        customer("DE", customer_type=B2C),
        customer("FR", tax_id="FR40303265045"),
        customer("IE", customer_type=B2C),
        customer("GB", customer_type=B2C),
        customer("CA", "CA-QC", customer_type=B2C),
        customer("CA", "CA-BC", customer_type=B2C),
        customer("AU", customer_type=B2C),
        customer("US", "US-TX"),
        customer("US", "US-WA"),
        customer("US", "US-NY"),
    ]
)
bases = st.sampled_from(["line", "invoice"])


@settings(max_examples=150, deadline=None)
@given(values=st.lists(amounts, min_size=1, max_size=12), who=customers, basis=bases)
def test_tax_lines_add_up_to_the_cent(values: list[Decimal], who: object, basis: str) -> None:
    engine = RuleTableEngine(rounding={"US": basis, "CA": basis})  # type: ignore[dict-item]
    draft = invoice(*values, currency="EUR")
    result = engine.evaluate(draft, seller=Seller(), customer=who)  # type: ignore[arg-type]
    taxed = apply_tax(draft, result)
    step = quantum("EUR")
    assert taxed.tax_total == sum((line.tax_amount for line in result.tax_lines), Decimal(0))
    assert taxed.total == taxed.subtotal + taxed.tax_total
    for line in result.tax_lines:
        assert line.tax_amount == line.tax_amount.quantize(step)
    by_rule: dict[str, list[object]] = {}
    for line in result.tax_lines:
        by_rule.setdefault(line.rule_id, []).append(line)
    nets = {line.line_id: line.amount for line in draft.lines}
    for rule_id, lines in by_rule.items():
        rounded = sum((line.tax_amount for line in lines), Decimal(0))  # type: ignore[attr-defined]
        # The exact tax, recomputed here: the nets each line covers × the published share
        # and rate (not the engine's own unrounded figure).
        rate, fraction, _ = PUBLISHED[rule_id]
        covered = [
            net_id
            for line in lines
            for net_id in (line.line_ids or [line.line_id])  # type: ignore[attr-defined]
        ]
        unrounded = sum((nets[net_id] for net_id in covered), Decimal(0)) * fraction * rate
        if len(lines) == 1 or basis == "invoice":
            # One rounding per group or per invoice: within half a cent of the exact tax.
            assert rounded == round_money(unrounded, "EUR")
        else:
            # Item basis: at most half a cent per line away from the exact tax.
            assert abs(rounded - unrounded) <= step / 2 * len(lines)


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(
        st.decimals(min_value=Decimal("-1000"), max_value=Decimal("1000"), places=5),
        min_size=1,
        max_size=20,
    )
)
def test_allocation_keeps_every_line_within_a_cent_and_the_sum_exact(values: list[Decimal]) -> None:
    shares = allocate(values, currency="EUR")
    assert sum(shares, Decimal(0)) == round_money(sum(values, Decimal(0)), "EUR")
    for share, exact in zip(shares, values, strict=True):
        assert abs(share - exact) < Decimal("0.01")
