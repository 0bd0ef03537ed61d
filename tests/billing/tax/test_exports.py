"""A sale into a place where the seller holds no registration: no tax, and why.

Directive 2006/112/EC art. 44 puts a business customer's services where the customer is,
art. 58 a consumer's electronic services; outside the EU the seller owes no EU VAT, and it
collects no foreign tax it is not registered for. EN 16931 names the outcome category G,
exemption text "Export outside the EU" (VATEX-EU-G).
"""

from decimal import Decimal
from typing import Any

import pytest

from billing.tax import RuleTableEngine, Seller, TaxError, apply_tax
from tests.billing.tax.tax_builders import customer, invoice

B2C: dict[str, Any] = {"customer_type": "individual"}


@pytest.mark.parametrize(
    "who",
    [
        customer("NO", tax_id="NO974760673MVA"),
        customer("SG"),
        customer("JP", **B2C),
        customer("CH", tax_id="CHE-116.281.710"),
        customer("US", "US-OR"),
    ],
    ids=["NO-business", "SG", "JP-consumer", "CH", "US-OR"],
)
def test_an_export_by_an_eu_seller_charges_nothing_and_says_why(who: Any) -> None:
    draft = invoice("100.00", "23.45")
    result = RuleTableEngine().evaluate(draft, seller=Seller(), customer=who)
    (line,) = result.tax_lines
    assert (line.rate, line.tax_amount, line.taxable_amount) == (
        Decimal(0),
        Decimal("0.00"),
        Decimal("123.45"),
    )
    assert (line.taxability_reason, line.category_code) == ("not_collecting", "G")
    assert line.line_ids == ["L1", "L2"]
    assert "no tax registration" in line.explanation
    assert result.notes == ["Export outside the EU"]
    assert not result.uncertain
    taxed = apply_tax(draft, result)
    assert (taxed.tax_total, taxed.total) == (Decimal("0.00"), Decimal("123.45"))


def test_a_uk_seller_exporting_names_its_own_country() -> None:
    seller = Seller(name="Acme Ltd", country="GB", tax_id="GB980780684", registrations=[])
    result = RuleTableEngine().evaluate(invoice("10.00"), seller=seller, customer=customer("NO"))
    assert result.tax_lines[0].category_code == "G"
    assert result.notes == ["Export: no GB tax charged"]


def test_a_registration_in_the_country_still_taxes_by_the_table() -> None:
    """Norway is lacking from the table; a seller registered there gets the refusal, not 0 %."""
    seller = Seller(registrations=["NO"])
    with pytest.raises(TaxError) as raised:
        RuleTableEngine().evaluate(invoice("10.00"), seller=seller, customer=customer("NO"))
    assert raised.value.code == "tax_jurisdiction_unsupported"
