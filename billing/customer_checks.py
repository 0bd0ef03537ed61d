"""Master-data checks on a customer before anything is billed to them.

Codes and formats come from libraries (pycountry for ISO 3166, iso4217, email-validator
without DNS, python-stdnum for tax identifiers and the postal codes it knows); whether a
subdivision or a tax ID matters for tax comes from the tax rule table.
"""

from types import ModuleType
from typing import Literal

import iso4217
from email_validator import EmailNotValidError, validate_email
from stdnum import exceptions as stdnum_errors
from stdnum.at import postleitzahl
from stdnum.es import postal_code
from stdnum.nl import postcode
from stdnum.se import postnummer

from billing.tax.location import known_country, subdivision_parents
from billing.tax.rules import packaged_rules, requirement_matters, subdivision_required
from billing.tax.tax_ids import SCHEME_LABELS, check_tax_id
from schemas.contract import Contract
from schemas.customer import DELIVERY_CHANNELS, PEPPOL_PARTICIPANT_ID, Customer
from schemas.runs import Problem

VatCheckStatus = Literal["valid", "invalid", "unverified", "not_applicable"]

_POSTAL_CODES: dict[str, ModuleType] = {
    "AT": postleitzahl,
    "ES": postal_code,
    "NL": postcode,
    "SE": postnummer,
}


def _blocking(field: str, code: str, message: str) -> Problem:
    return Problem(field=field, code=code, message=message, blocking=True)


def _warning(field: str, code: str, message: str) -> Problem:
    return Problem(field=field, code=code, message=message, blocking=False)


def check_customer(customer: Customer, contract: Contract) -> list[Problem]:
    """Every problem found, each blocking or a warning; an empty list means clean."""
    problems: list[Problem] = []
    if customer.id != contract.customer_id:
        problems.append(
            _blocking(
                "customer.id",
                "customer_mismatch",
                f"contract bills {contract.customer_id}, not {customer.id}",
            )
        )
    if not customer.name.strip():
        problems.append(_blocking("customer.name", "missing_name", "the customer has no name"))
    problems += _check_email(customer.email)
    problems += check_delivery(customer)
    problems += _check_currency(customer, contract)
    country = _checked_country(customer, problems)
    if country:
        problems += _check_subdivision(customer, country)
        problems += _check_postal_code(
            customer.address.postal_code if customer.address else "", country
        )
        problems += _check_tax_id(customer, country)
        problems += _check_exemption(customer, country)
    return problems


def _check_email(email: str) -> list[Problem]:
    if not email.strip():
        return [_blocking("customer.email", "missing_email", "the customer has no billing e-mail")]
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as error:
        return [_blocking("customer.email", "invalid_email", f"{email!r}: {error}")]
    return []


def check_delivery(customer: Customer) -> list[Problem]:
    """The channel must be one q2c delivers on; Peppol needs a well-formed participant id."""
    channel = customer.delivery_channel.strip()
    if channel not in DELIVERY_CHANNELS:
        return [
            _blocking(
                "customer.delivery_channel",
                "unknown_delivery_channel",
                f"{customer.delivery_channel!r} is not a delivery channel "
                f"(one of {', '.join(DELIVERY_CHANNELS)})",
            )
        ]
    peppol_id = customer.peppol_id.strip()
    if channel == "peppol" and not peppol_id:
        return [
            _blocking(
                "customer.peppol_id",
                "missing_peppol_id",
                "the customer receives documents over Peppol but has no participant id",
            )
        ]
    if peppol_id and not PEPPOL_PARTICIPANT_ID.match(peppol_id):
        problem = _blocking if channel == "peppol" else _warning
        return [
            problem(
                "customer.peppol_id",
                "invalid_peppol_id",
                f"{customer.peppol_id!r} is not a Peppol participant id: expected "
                "<four-digit ISO 6523 scheme>:<identifier>, e.g. 0208:0123456789",
            )
        ]
    return []


def _check_currency(customer: Customer, contract: Contract) -> list[Problem]:
    code = customer.currency.strip().upper()
    try:
        iso4217.Currency(code)
    except ValueError:
        return [
            _blocking(
                "customer.currency",
                "unknown_currency",
                f"{customer.currency!r} is not an ISO 4217 currency code",
            )
        ]
    if code != contract.currency:
        return [
            _blocking(
                "customer.currency",
                "currency_mismatch",
                f"customer pays in {code}, contract is in {contract.currency}",
            )
        ]
    return []


def _checked_country(customer: Customer, problems: list[Problem]) -> str:
    """The customer's ISO country code, or "" after recording why there is none."""
    if customer.address is None or not customer.address.country.strip():
        problems.append(
            _blocking(
                "customer.address.country",
                "missing_country",
                "the customer has no country, so tax cannot be decided",
            )
        )
        return ""
    country = customer.address.country.strip().upper()
    if not known_country(country):
        problems.append(
            _blocking(
                "customer.address.country",
                "unknown_country",
                f"{customer.address.country!r} is not an ISO 3166-1 alpha-2 country code",
            )
        )
        return ""
    return country


def _check_subdivision(customer: Customer, country: str) -> list[Problem]:
    field = "customer.address.subdivision"
    subdivision = customer.address.subdivision.strip().upper() if customer.address else ""
    if not subdivision:
        if subdivision_required(packaged_rules(), country):
            return [
                _blocking(
                    field,
                    "missing_subdivision",
                    f"tax in {country} depends on the state or province (ISO 3166-2, e.g. "
                    f"{country}-..), and the customer has none",
                )
            ]
        return []
    if subdivision_parents(subdivision) is None:
        return [
            _blocking(
                field, "unknown_subdivision", f"{subdivision!r} is not an ISO 3166-2 subdivision"
            )
        ]
    if not subdivision.startswith(f"{country}-"):
        return [
            _blocking(
                field,
                "subdivision_country_mismatch",
                f"{subdivision} is not a subdivision of {country}",
            )
        ]
    return []


def _check_postal_code(value: str, country: str) -> list[Problem]:
    module = _POSTAL_CODES.get(country)
    if module is None or not value.strip():
        return []
    try:
        module.validate(value)
    except stdnum_errors.ValidationError as error:
        return [
            _warning(
                "customer.address.postal_code",
                "invalid_postal_code",
                f"{value!r} is not a {country} postal code: {error}",
            )
        ]
    return []


def _check_tax_id(customer: Customer, country: str) -> list[Problem]:
    field = "customer.tax_id"
    if not customer.tax_id.strip():
        if customer.customer_type == "business" and requirement_matters(
            packaged_rules(), country, "tax_id"
        ):
            return [
                _warning(
                    field,
                    "missing_tax_id",
                    f"a business in {country} without a tax ID is taxed like a consumer "
                    "(no reverse charge)",
                )
            ]
        return []
    check = check_tax_id(customer.tax_id, country=country)
    if check is None:
        return [
            _warning(
                field,
                "tax_id_unchecked",
                f"no validator is known for tax IDs of {country}: {customer.tax_id!r} is unchecked",
            )
        ]
    if not check.valid:
        return [_blocking(field, check.code, check.message)]
    if check.issuing_country != country:
        return [
            _warning(
                field,
                "tax_id_country_mismatch",
                f"{SCHEME_LABELS[check.scheme]} {check.compact} is issued in "
                f"{check.issuing_country}, the customer is in {country}",
            )
        ]
    return []


def _check_exemption(customer: Customer, country: str) -> list[Problem]:
    if not customer.exemption_certificate.strip():
        return []
    if requirement_matters(packaged_rules(), country, "exemption_certificate"):
        return []
    return [
        _warning(
            "customer.exemption_certificate",
            "exemption_certificate_ignored",
            f"no tax rule for {country} takes an exemption certificate: it is not applied",
        )
    ]


def vat_check_problems(
    *, status: VatCheckStatus, vat_number: str, detail: str = "", block_unverified: bool
) -> list[Problem]:
    """The policy for an online VAT check (VIES): invalid blocks; unverified blocks only when
    `block_unverified`, else it is a warning the approver sees."""
    field = "customer.tax_id"
    suffix = f" ({detail})" if detail else ""
    if status == "invalid":
        return [
            _blocking(
                field, "vat_number_not_registered", f"VIES says {vat_number} is not valid{suffix}"
            )
        ]
    if status == "unverified":
        message = f"VIES could not confirm {vat_number}{suffix}"
        if block_unverified:
            return [_blocking(field, "vat_number_unverified", message)]
        return [_warning(field, "vat_number_unverified", message)]
    return []
