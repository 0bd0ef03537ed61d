"""Customer master data: every problem named by field, code, and whether it blocks."""

from datetime import date
from typing import Any

import pytest

from billing.customer_checks import check_customer, vat_check_problems
from schemas.contract import Contract
from schemas.customer import Address, Customer


def _contract(currency: str = "EUR") -> Contract:
    return Contract(
        id="C-1", customer_id="CU-1", currency=currency, plan="growth", start_date=date(2026, 1, 1)
    )


def _customer(**fields: Any) -> Customer:
    data: dict[str, Any] = {
        "id": "CU-1",
        "name": "Customer GmbH",
        "email": "billing@customer.example",
        "currency": "EUR",
        "address": {"country": "DE", "postal_code": "10115"},
    }
    data.update(fields)
    return Customer.model_validate(data)


def _found(problems: list[Any]) -> set[tuple[str, str, bool]]:
    return {(p.field, p.code, p.blocking) for p in problems}


@pytest.mark.parametrize(
    ("fields", "currency"),
    [
        ({"tax_id": "DE136695976"}, "EUR"),
        ({"tax_id": "FR40303265045", "address": {"country": "FR"}}, "EUR"),
        ({"tax_id": "GB980780684", "address": {"country": "GB"}, "currency": "GBP"}, "GBP"),
        ({"tax_id": "XI980780684", "address": {"country": "GB", "subdivision": "GB-NIR"}}, "EUR"),
        ({"tax_id": "CHE-116.281.710", "address": {"country": "CH"}, "currency": "CHF"}, "CHF"),
        ({"tax_id": "CHE-116.281.710 MWST", "address": {"country": "CH"}}, "EUR"),
        ({"tax_id": "NO 974 760 673 MVA", "address": {"country": "NO"}}, "EUR"),
        ({"tax_id": "51824753556", "address": {"country": "AU", "subdivision": "AU-NSW"}}, "EUR"),
        ({"tax_id": "123456782", "address": {"country": "CA", "subdivision": "CA-BC"}}, "EUR"),
        ({"tax_id": "04-2103594", "address": {"country": "US", "subdivision": "US-NY"}}, "EUR"),
        ({"tax_id": "27AAPFU0939F1ZV", "address": {"country": "IN", "subdivision": "IN-MH"}},
         "EUR"),
        ({"customer_type": "individual", "address": {"country": "ES", "subdivision": "ES-M",
          "postal_code": "28001"}}, "EUR"),
        ({"customer_type": "individual", "address": {"country": "US", "subdivision": "US-TX"},
          "exemption_certificate": "01-339-42"}, "EUR"),
    ],
)  # fmt: skip
def test_clean_master_data_has_no_problems(fields: dict[str, Any], currency: str) -> None:
    assert check_customer(_customer(**fields), _contract(currency)) == []


def test_the_demo_customer_with_broken_data_gets_two_blocking_problems() -> None:
    """CU-1010: a VAT number with a bad checksum and an e-mail with two @."""
    problems = check_customer(_customer(tax_id="DE123456789", email="billing@@broken"), _contract())
    assert _found(problems) == {
        ("customer.tax_id", "tax_id_checksum", True),
        ("customer.email", "invalid_email", True),
    }
    assert all(p.message for p in problems)


@pytest.mark.parametrize(
    ("fields", "contract_currency", "expected"),
    [
        ({"id": "CU-9"}, "EUR", ("customer.id", "customer_mismatch", True)),
        ({"name": " "}, "EUR", ("customer.name", "missing_name", True)),
        ({"email": ""}, "EUR", ("customer.email", "missing_email", True)),
        ({"email": "nobody"}, "EUR", ("customer.email", "invalid_email", True)),
        ({"currency": "EURO"}, "EUR", ("customer.currency", "unknown_currency", True)),
        ({"currency": "USD"}, "EUR", ("customer.currency", "currency_mismatch", True)),
        ({"address": None}, "EUR", ("customer.address.country", "missing_country", True)),
        ({"address": {"country": "XX"}}, "EUR",
         ("customer.address.country", "unknown_country", True)),
        ({"address": {"country": "US"}}, "EUR",
         ("customer.address.subdivision", "missing_subdivision", True)),
        ({"address": {"country": "CA"}}, "EUR",
         ("customer.address.subdivision", "missing_subdivision", True)),
        ({"address": {"country": "US", "subdivision": "US-XX"}}, "EUR",
         ("customer.address.subdivision", "unknown_subdivision", True)),
        ({"address": {"country": "US", "subdivision": "CA-BC"}}, "EUR",
         ("customer.address.subdivision", "subdivision_country_mismatch", True)),
        ({"tax_id": "DE12345"}, "EUR", ("customer.tax_id", "tax_id_format", True)),
        ({"tax_id": "136695976"}, "EUR", ("customer.tax_id", "tax_id_format", True)),
        ({"tax_id": "GB980780685", "address": {"country": "GB"}}, "EUR",
         ("customer.tax_id", "tax_id_checksum", True)),
        ({"tax_id": "CHE-116.281.711", "address": {"country": "CH"}}, "EUR",
         ("customer.tax_id", "tax_id_checksum", True)),
        ({"tax_id": "NO 974 760 674 MVA", "address": {"country": "NO"}}, "EUR",
         ("customer.tax_id", "tax_id_checksum", True)),
        ({"tax_id": "51824753557", "address": {"country": "AU"}}, "EUR",
         ("customer.tax_id", "tax_id_checksum", True)),
        ({"tax_id": "123456783", "address": {"country": "CA", "subdivision": "CA-ON"}}, "EUR",
         ("customer.tax_id", "tax_id_checksum", True)),
        ({"tax_id": "27AAPFU0939F1ZW", "address": {"country": "IN"}}, "EUR",
         ("customer.tax_id", "tax_id_checksum", True)),
        ({"tax_id": "12-345", "address": {"country": "US", "subdivision": "US-NY"}}, "EUR",
         ("customer.tax_id", "tax_id_format", True)),
        # Warnings: shown to the approver, the run goes on.
        ({"tax_id": "DE136695976", "address": {"country": "AT"}}, "EUR",
         ("customer.tax_id", "tax_id_country_mismatch", False)),
        ({"tax_id": "91-1234567", "address": {"country": "JP"}}, "EUR",
         ("customer.tax_id", "tax_id_unchecked", False)),
        ({"address": {"country": "FR"}}, "EUR", ("customer.tax_id", "missing_tax_id", False)),
        ({"exemption_certificate": "X-1"}, "EUR",
         ("customer.exemption_certificate", "exemption_certificate_ignored", False)),
        ({"address": {"country": "NL", "postal_code": "12345"}}, "EUR",
         ("customer.address.postal_code", "invalid_postal_code", False)),
        ({"address": {"country": "AT", "postal_code": "0000"}}, "EUR",
         ("customer.address.postal_code", "invalid_postal_code", False)),
    ],
)  # fmt: skip
def test_each_problem_is_named(
    fields: dict[str, Any], contract_currency: str, expected: tuple[str, str, bool]
) -> None:
    fields.setdefault("tax_id", "DE136695976" if "address" not in fields else "")
    problems = check_customer(_customer(**fields), _contract(contract_currency))
    assert expected in _found(problems)


def test_a_business_without_a_tax_id_is_fine_where_the_id_changes_nothing() -> None:
    who = _customer(address=Address(country="US", subdivision="US-NY"), currency="USD")
    assert check_customer(who, _contract("USD")) == []


def test_problems_are_all_reported_at_once() -> None:
    who = _customer(name="", email="x", currency="usd", address=Address(country="US"))
    codes = {p.code for p in check_customer(who, _contract("EUR"))}
    assert codes == {"missing_name", "invalid_email", "currency_mismatch", "missing_subdivision"}


@pytest.mark.parametrize(
    ("status", "block", "expected"),
    [
        ("valid", False, set()),
        ("not_applicable", True, set()),
        ("invalid", False, {("customer.tax_id", "vat_number_not_registered", True)}),
        ("unverified", False, {("customer.tax_id", "vat_number_unverified", False)}),
        ("unverified", True, {("customer.tax_id", "vat_number_unverified", True)}),
    ],
)
def test_vies_policy(status: Any, block: bool, expected: set[tuple[str, str, bool]]) -> None:
    problems = vat_check_problems(status=status, vat_number="DE136695976", block_unverified=block)
    assert _found(problems) == expected


@pytest.mark.parametrize(
    "peppol_id",
    # The two forms named in the Peppol policy for identifiers, and a GLN (0088).
    ["0208:0123456789", "9930:DE123456789", "0088:7300010000001", "9944:NL004495445B01"],
)
def test_a_peppol_customer_with_a_participant_id_is_clean(peppol_id: str) -> None:
    customer = _customer(tax_id="DE136695976", delivery_channel="peppol", peppol_id=peppol_id)
    assert check_customer(customer, _contract()) == []


@pytest.mark.parametrize(
    "peppol_id",
    [
        "0123456789",  # no scheme
        "208:0123456789",  # a scheme has four digits
        "ABCD:0123456789",
        "0208:",  # no identifier
        "0208: 0123456789",
        "iso6523-actorid-upis::0208:0123456789",  # the scheme's name belongs to the AP, not here
        "0208:" + "1" * 131,  # longer than the policy allows
    ],
)
def test_a_malformed_participant_id_blocks_a_peppol_customer(peppol_id: str) -> None:
    customer = _customer(tax_id="DE136695976", delivery_channel="peppol", peppol_id=peppol_id)
    [problem] = check_customer(customer, _contract())
    assert (problem.field, problem.code, problem.blocking) == (
        "customer.peppol_id",
        "invalid_peppol_id",
        True,
    )
    assert repr(peppol_id) in problem.message


def test_a_peppol_customer_without_a_participant_id_is_blocked() -> None:
    customer = _customer(tax_id="DE136695976", delivery_channel="peppol")
    assert _found(check_customer(customer, _contract())) == {
        ("customer.peppol_id", "missing_peppol_id", True)
    }


def test_a_malformed_participant_id_only_warns_when_documents_go_by_email() -> None:
    customer = _customer(tax_id="DE136695976", peppol_id="not an id")
    assert _found(check_customer(customer, _contract())) == {
        ("customer.peppol_id", "invalid_peppol_id", False)
    }


def test_an_unknown_delivery_channel_is_named() -> None:
    [problem] = check_customer(_customer(tax_id="DE136695976", delivery_channel="fax"), _contract())
    assert (problem.field, problem.code) == (
        "customer.delivery_channel",
        "unknown_delivery_channel",
    )
    assert "'fax'" in problem.message and "email, peppol" in problem.message
