"""Bad input gets a precise reason code, never a silent 0% and never a guessed rate."""

from datetime import date
from typing import Any

import pytest

from billing.tax import RuleTableEngine, Seller, TaxError
from billing.tax.rules import parse_rules
from tests.billing.tax.tax_builders import customer, invoice

B2C: dict[str, Any] = {"customer_type": "individual"}


@pytest.mark.parametrize(
    ("who", "code", "mentions"),
    [
        (customer(None, **B2C), "customer_location_missing", "customer.address.country"),
        (customer("", **B2C), "customer_location_missing", "customer.address.country"),
        (customer("XX"), "unknown_country", "customer.address.country"),
        (customer("Germany"), "unknown_country", "'Germany'"),
        (customer("US", "US-ZZ"), "unknown_subdivision", "customer.address.subdivision"),
        (customer("US", "CA-BC"), "unknown_subdivision", "not in US"),
        (customer("US", **B2C), "subdivision_required", "customer.address.subdivision"),
        (customer("CA", **B2C), "subdivision_required", "customer.address.subdivision"),
        (customer("DE", tax_id="DE123456789"), "tax_id_checksum", "customer.tax_id"),
        (customer("DE", tax_id="DE12345"), "tax_id_format", "customer.tax_id"),
        (customer("DE", tax_id="136695976"), "tax_id_format", "country prefix"),
        (customer("AU", tax_id="51824753557"), "tax_id_checksum", "Australian Business Number"),
        (customer("US", "US-NY", tax_id="00-0000000"), "tax_id_invalid", "customer.tax_id"),
        (customer("ES", "ES-TF", **B2C), "tax_jurisdiction_unsupported", "ES-CN-VAT-EXCLUDED"),
        (customer("FR", "FR-974", **B2C), "tax_jurisdiction_unsupported", "Réunion"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_refuses_with_a_reason(who: Any, code: str, mentions: str) -> None:
    with pytest.raises(TaxError) as raised:
        RuleTableEngine().evaluate(invoice("100.00"), seller=Seller(), customer=who)
    assert raised.value.code == code
    assert mentions in raised.value.message


@pytest.mark.parametrize(
    ("registrations", "who", "mentions"),
    [
        (["JP"], customer("JP", **B2C), "JP"),
        (["CH"], customer("CH", tax_id="CHE-116.281.710"), "CH"),
        (["US-OR"], customer("US", "US-OR"), "US-OR"),
    ],
    ids=["JP", "CH", "US-OR"],
)
def test_refuses_a_place_the_seller_is_registered_in_but_the_table_lacks(
    registrations: list[str], who: Any, mentions: str
) -> None:
    seller = Seller(registrations=registrations)
    with pytest.raises(TaxError) as raised:
        RuleTableEngine().evaluate(invoice("100.00"), seller=seller, customer=who)
    assert raised.value.code == "tax_jurisdiction_unsupported"
    assert mentions in raised.value.message


def test_refuses_a_date_the_table_does_not_cover() -> None:
    old = invoice("100.00", period=(date(2023, 1, 1), date(2023, 2, 1)))
    with pytest.raises(TaxError) as raised:
        RuleTableEngine().evaluate(old, seller=Seller(), customer=customer("DE"))
    assert raised.value.code == "tax_jurisdiction_unsupported"
    assert "2023-01-31" in raised.value.message


def test_refuses_an_unknown_seller_country() -> None:
    with pytest.raises(TaxError) as raised:
        RuleTableEngine().evaluate(
            invoice("1.00"), seller=Seller(country="ZZ"), customer=customer("DE")
        )
    assert raised.value.code == "seller_invalid"


HEADER = (
    "rule_id,country,subdivision,slot,tax_type,level,rate,taxable_fraction,taxability_reason,"
    "category_code,seller_location,customer_type,requires,registration,rounding,valid_from,"
    "valid_to,invoice_note,description,source\n"
)


def test_two_rules_that_fit_equally_are_ambiguous() -> None:
    rules = parse_rules(
        HEADER
        + "X1,DE,,vat,vat,country,0.19,1,standard_rated,S,domestic,any,,DE,group,2024-01-01,,,"
        "a,https://example.org/a\n"
        + "X2,DE,,vat,vat,country,0.07,1,standard_rated,S,any,business,,DE,group,2024-01-01,,,"
        "b,https://example.org/b\n"
    )
    with pytest.raises(TaxError) as raised:
        RuleTableEngine(rules=rules).evaluate(
            invoice("1.00"), seller=Seller(), customer=customer("DE")
        )
    assert raised.value.code == "tax_rule_ambiguous"
    assert "X1" in raised.value.message and "X2" in raised.value.message


def test_a_slot_without_a_fitting_row_is_missing_not_zero() -> None:
    rules = parse_rules(
        HEADER + "X1,DE,,vat,vat,country,0,1,reverse_charge,AE,foreign,business,tax_id,,group,"
        "2024-01-01,,Reverse charge,a,https://example.org/a\n"
    )
    with pytest.raises(TaxError) as raised:
        RuleTableEngine(rules=rules).evaluate(
            invoice("1.00"), seller=Seller(), customer=customer("DE", **B2C)
        )
    assert raised.value.code == "tax_rule_missing"


def test_vat_rounding_cannot_be_configured_away_from_groups() -> None:
    engine = RuleTableEngine(rounding={"DE": "line"})
    with pytest.raises(TaxError) as raised:
        engine.evaluate(invoice("1.00"), seller=Seller(), customer=customer("DE"))
    assert raised.value.code == "tax_configuration"


def test_rounding_configuration_names_a_bad_basis() -> None:
    with pytest.raises(ValueError, match=r"rounding\['US-NY'\]"):
        RuleTableEngine(rounding={"US-NY": "banker"})  # type: ignore[dict-item]
