"""The demo's seeded customers (October 2026) are taxed by the built-in engine as the demo
expects; CU-1010's broken master data is refused."""

from decimal import Decimal

import pytest

from billing.tax import Seller, TaxError, apply_tax, default_engine
from tests.billing.tax.tax_builders import customer, invoice

DEMO = [
    ("CU-1001", customer("US", "US-NY", currency="USD"), "USD", {"US-NY-SAAS": "4.00"}, ()),
    ("CU-1002", customer("DE", tax_id="DE136695976"), "EUR", {"DE-VAT-STD": "19.00"}, ()),
    (
        "CU-1003",
        customer("FR", tax_id="FR40303265045"),
        "EUR",
        {"FR-VAT-RC": "0.00"},
        ("Reverse charge",),
    ),
    (
        "CU-1004",
        customer("GB", tax_id="GB980780684", currency="GBP"),
        "GBP",
        {"GB-VAT-RC": "0.00"},
        ("Reverse charge",),
    ),
    (
        "CU-1005",
        customer("CA", "CA-BC", tax_id="123456782", currency="CAD"),
        "CAD",
        {"CA-GST": "5.00", "CA-BC-PST": "7.00"},
        (),
    ),
    (
        "CU-1006",
        customer("AU", "AU-NSW", tax_id="51824753556", currency="AUD"),
        "AUD",
        {"AU-GST-B2B": "0.00"},
        ("GST not charged: the customer is an Australian business with an ABN (reverse charge)",),
    ),
    ("CU-1007", customer("US", "US-TX", currency="USD"), "USD", {"US-TX-SAAS": "5.00"}, ()),
    ("CU-1008", customer("US", "US-FL", currency="USD"), "USD", {"US-FL-SAAS": "0.00"}, ()),
    ("CU-1009", customer("US", "US-CA", currency="USD"), "USD", {"US-CA-SAAS": "0.00"}, ()),
    (
        "CU-1011",
        customer("ES", "ES-M", customer_type="individual"),
        "EUR",
        {"ES-VAT-STD": "21.00"},
        (),
    ),
    ("CU-1012", customer("US", "US-WA", currency="USD"), "USD", {"US-WA-SAAS": "6.50"}, ()),
]


@pytest.mark.parametrize(
    ("name", "who", "currency", "taxes", "notes"), DEMO, ids=[d[0] for d in DEMO]
)
def test_demo_customer_is_taxed(
    name: str, who: object, currency: str, taxes: dict[str, str], notes: tuple[str, ...]
) -> None:
    draft = invoice("100.00", currency=currency)
    result = default_engine().evaluate(draft, seller=Seller(), customer=who)  # type: ignore[arg-type]
    assert {line.rule_id: line.tax_amount for line in result.tax_lines} == {
        rule: Decimal(amount) for rule, amount in taxes.items()
    }
    assert tuple(result.notes) == notes
    assert not result.uncertain
    taxed = apply_tax(draft, result)
    assert taxed.total == Decimal("100.00") + sum(Decimal(a) for a in taxes.values())


def test_demo_customer_with_a_bad_vat_number_is_refused() -> None:
    with pytest.raises(TaxError) as raised:
        default_engine().evaluate(
            invoice("100.00"), seller=Seller(), customer=customer("DE", tax_id="DE123456789")
        )
    assert raised.value.code == "tax_id_checksum"


def test_the_default_seller_is_the_demo_seller() -> None:
    seller = Seller()
    assert (seller.name, seller.country, seller.tax_id) == ("q2c Demo GmbH", "DE", "DE136695976")
    assert {"EU-OSS", "GB", "CA", "CA-BC", "CA-SK", "CA-MB", "CA-QC", "AU"} <= set(
        seller.registrations
    )
    assert {"US-NY", "US-PA", "US-WA", "US-TX"} <= set(seller.registrations)
