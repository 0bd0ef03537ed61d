"""Input that lacks what a VAT category or the standard needs: an `EInvoiceError` naming the
field and the rule (reason code einvoice_invalid), and nothing rendered."""

from typing import Any

import pytest

from billing.einvoice import EINVOICE_INVALID, EInvoiceError, render_documents
from billing.tax import Seller
from schemas.customer import Address
from schemas.invoice import Invoice
from tests.billing.einvoice.builders import (
    ISSUED,
    SELLER,
    customer,
    draft,
    line,
    taxed,
    vat_line,
    with_tax_lines,
)

GERMAN = customer("DE")
DOMESTIC = taxed(draft(line("100.00", line_id="L1")), GERMAN)


def _render(invoice: Invoice, **changes: Any) -> None:
    arguments: dict[str, Any] = {
        "number": "RE-1",
        "issue_date": ISSUED,
        "seller": SELLER,
        "customer": GERMAN,
    }
    arguments.update(changes)
    render_documents(invoice, **arguments)


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        (
            {"customer": GERMAN.model_copy(update={"address": None})},
            "customer.address.country",
            "BR-11",
        ),
        (
            {"customer": GERMAN.model_copy(update={"address": Address(country="")})},
            "customer.address.country",
            "BR-11",
        ),
        (
            {
                "customer": GERMAN.model_copy(
                    update={"address": Address(country="DE", city="Berlin")}
                )
            },
            "customer.address.line1",
            "Directive 2006/112/EC art. 226(5)",
        ),
        ({"seller": Seller(tax_id="")}, "seller.tax_id", "BR-S-02"),
        ({"seller": Seller(tax_id="136695976")}, "seller.tax_id", "BR-CO-09"),
        ({"seller": Seller(iban="DE00370400440532013000")}, "seller.iban", "ISO 13616"),
        ({"seller": Seller(bic="NOTABIC")}, "seller.bic", "ISO 9362"),
        ({"seller": Seller(country="ZZ")}, "seller.country", "BR-09"),
        ({"number": "  "}, "number", "BR-02"),
        (
            {"seller": Seller(electronic_address="9930DE136695976")},
            "seller.electronic_address",
            "BR-62",
        ),
    ],
    ids=[
        "no-address",
        "no-country",
        "no-street",
        "no-seller-vat-id",
        "seller-vat-id-without-prefix",
        "bad-iban",
        "bad-bic",
        "unknown-seller-country",
        "no-number",
        "electronic-address-without-scheme",
    ],
)
def test_missing_data_names_the_field_and_the_rule(
    changes: dict[str, Any], field: str, rule: str
) -> None:
    with pytest.raises(EInvoiceError) as raised:
        _render(DOMESTIC, **changes)
    assert (raised.value.code, raised.value.field, raised.value.rule) == (
        EINVOICE_INVALID,
        field,
        rule,
    )
    assert field in str(raised.value)


def test_reverse_charge_without_the_buyer_s_vat_id() -> None:
    """An AE line from an external engine for a buyer the CRM has no VAT id for."""
    invoice = with_tax_lines(
        draft(line("100.00", line_id="L1")),
        vat_line("L1", "0", "100.00", "0.00", category="AE"),
    )
    with pytest.raises(EInvoiceError) as raised:
        _render(invoice, customer=customer("FR"))
    assert (raised.value.field, raised.value.rule) == ("customer.tax_id", "BR-AE-02")


def test_an_untaxed_invoice_has_no_category() -> None:
    with pytest.raises(EInvoiceError) as raised:
        _render(draft(line("100.00", line_id="L1")))
    assert (raised.value.field, raised.value.rule) == ("invoice.lines.0", "BR-CO-04")


def test_totals_that_do_not_add_up_are_refused() -> None:
    broken = DOMESTIC.model_copy(update={"total": DOMESTIC.total + 1})
    with pytest.raises(EInvoiceError) as raised:
        _render(broken)
    assert (raised.value.field, raised.value.rule) == ("invoice.total", "BR-CO-15")


def test_a_currency_with_three_decimals_is_refused() -> None:
    who = customer("DE", currency="BHD")
    invoice = taxed(draft(line("10.000", line_id="L1"), currency="BHD"), who)
    with pytest.raises(EInvoiceError) as raised:
        _render(invoice, customer=who)
    assert (raised.value.field, raised.value.rule) == ("invoice.currency", "BR-DEC-09")


def test_not_subject_to_vat_cannot_share_a_document() -> None:
    invoice = with_tax_lines(
        draft(line("100.00", line_id="L1"), line("10.00", line_id="L2")),
        vat_line("L1", "0.19", "100.00", "19.00"),
        vat_line("L2", "0", "10.00", "0.00", category="O"),
    )
    with pytest.raises(EInvoiceError) as raised:
        _render(invoice)
    assert (raised.value.field, raised.value.rule) == ("invoice.tax_lines", "BR-O-11")


def test_a_document_of_discounts_only_has_no_line() -> None:
    invoice = with_tax_lines(
        draft(line("-10.00", line_id="L1", model="discount")),
        vat_line("L1", "0.19", "-10.00", "-1.90"),
    )
    with pytest.raises(EInvoiceError) as raised:
        _render(invoice)
    assert (raised.value.field, raised.value.rule) == ("invoice.lines", "BR-16")


def test_a_tax_line_naming_no_line_of_the_document() -> None:
    invoice = with_tax_lines(
        draft(line("100.00", line_id="L1")),
        vat_line("L1", "0.19", "100.00", "19.00"),
        vat_line("L9", "0", "0.00", "0.00"),
    )
    with pytest.raises(EInvoiceError) as raised:
        _render(invoice)
    assert (raised.value.field, raised.value.rule) == ("invoice.tax_lines.1", "BR-CO-14")
    assert "names no line" in raised.value.message


def test_a_grouped_tax_line_over_two_rates() -> None:
    """One breakdown per category and rate: a tax line over a 19 % and a 7 % line has none."""
    grouped = vat_line("invoice", "0", "110.00", "0.00").model_copy(
        update={"line_ids": ["L1", "L2"]}
    )
    invoice = with_tax_lines(
        draft(line("100.00", line_id="L1"), line("10.00", line_id="L2")),
        vat_line("L1", "0.19", "100.00", "19.00"),
        vat_line("L2", "0.07", "10.00", "0.70"),
        grouped,
    )
    with pytest.raises(EInvoiceError) as raised:
        _render(invoice)
    assert (raised.value.field, raised.value.rule) == ("invoice.tax_lines.2", "BR-CO-14")
    assert "one VAT category and rate" in raised.value.message


def test_an_intra_community_supply_needs_the_buyer_s_prefixed_vat_id() -> None:
    invoice = with_tax_lines(
        draft(line("100.00", line_id="L1")),
        vat_line("L1", "0", "100.00", "0.00", category="K"),
    )
    with pytest.raises(EInvoiceError) as raised:
        _render(invoice, customer=customer("FR", tax_id="12345678901"))
    assert (raised.value.field, raised.value.rule) == ("customer.tax_id", "BR-IC-02")
    assert "prefix" in raised.value.message
