"""Tax identifiers: which scheme a customer's number belongs to, and whether it is valid.

Checksums and formats come from python-stdnum; this module only picks the scheme from the
number's prefix (EU VAT, GB/XI VAT, CHE UID, NO MVA) or the customer's country (AU ABN,
CA BN, US EIN, IN GSTIN) and names the failure.
"""

from types import ModuleType
from typing import Literal

from pydantic import BaseModel
from stdnum import exceptions as stdnum_errors
from stdnum.au import abn
from stdnum.ca import bn
from stdnum.ch import uid
from stdnum.ch import vat as ch_vat
from stdnum.eu import vat as eu_vat
from stdnum.gb import vat as gb_vat
from stdnum.in_ import gstin
from stdnum.no import mva
from stdnum.us import ein

TaxIdScheme = Literal[
    "eu_vat", "gb_vat", "ch_uid", "no_mva", "au_abn", "ca_bn", "us_ein", "in_gstin"
]

SCHEME_LABELS: dict[TaxIdScheme, str] = {
    "eu_vat": "EU VAT number",
    "gb_vat": "UK VAT number",
    "ch_uid": "Swiss UID",
    "no_mva": "Norwegian MVA number",
    "au_abn": "Australian Business Number",
    "ca_bn": "Canadian Business Number",
    "us_ein": "US Employer Identification Number",
    "in_gstin": "Indian GSTIN",
}

# VAT prefixes that are not the ISO country code of the issuing state.
_VAT_PREFIX_COUNTRY = {"EL": "GR", "XI": "GB"}
_EU_PREFIXES = frozenset({*(cc.upper() for cc in eu_vat.MEMBER_STATES), "EL"}) - {"XI", "GR"}
_COUNTRY_VAT_PREFIX = {"GR": "EL"}
_PREFIXED_COUNTRIES = frozenset({*(_VAT_PREFIX_COUNTRY.get(p, p) for p in _EU_PREFIXES), "GB"})
_SWISS_VAT_SUFFIXES = ("MWST", "TVA", "IVA", "TPV")
_BY_COUNTRY: dict[str, tuple[TaxIdScheme, ModuleType]] = {
    "AU": ("au_abn", abn),
    "CA": ("ca_bn", bn),
    "US": ("us_ein", ein),
    "IN": ("in_gstin", gstin),
}


class TaxIdCheck(BaseModel, frozen=True):
    """The outcome of checking one tax identifier against its scheme."""

    scheme: TaxIdScheme
    issuing_country: str
    compact: str
    valid: bool
    code: str = ""
    message: str = ""


def _scheme_for(number: str, country: str) -> tuple[TaxIdScheme, ModuleType, str] | None:
    prefix = number[:2]
    if prefix in ("GB", "XI"):
        module = gb_vat if prefix == "GB" else eu_vat
        return "gb_vat", module, "GB"
    if prefix in _EU_PREFIXES:
        return "eu_vat", eu_vat, _VAT_PREFIX_COUNTRY.get(prefix, prefix)
    if number.startswith("CHE") or (country == "CH" and not prefix.isalpha()):
        module = ch_vat if number.endswith(_SWISS_VAT_SUFFIXES) else uid
        return "ch_uid", module, "CH"
    if prefix == "NO" or (country == "NO" and not prefix.isalpha()):
        return "no_mva", mva, "NO"
    if country in _BY_COUNTRY:
        scheme, module = _BY_COUNTRY[country]
        return scheme, module, country
    return None


def _failure_code(error: stdnum_errors.ValidationError) -> str:
    if isinstance(error, stdnum_errors.InvalidChecksum):
        return "tax_id_checksum"
    if isinstance(error, stdnum_errors.InvalidFormat | stdnum_errors.InvalidLength):
        return "tax_id_format"
    return "tax_id_invalid"


def check_tax_id(tax_id: str, *, country: str) -> TaxIdCheck | None:
    """Check `tax_id` as printed; `country` (the customer's) picks schemes without a prefix.

    None means no scheme is known for this number and country: it cannot be checked.
    """
    number = "".join(tax_id.split()).upper().replace(".", "").replace("-", "")
    country = country.upper()
    found = _scheme_for(number, country)
    if found is None and country in _PREFIXED_COUNTRIES:
        scheme: TaxIdScheme = "gb_vat" if country == "GB" else "eu_vat"
        return TaxIdCheck(
            scheme=scheme,
            issuing_country=country,
            compact=number,
            valid=False,
            code="tax_id_format",
            message=f"{tax_id!r} lacks its country prefix ({SCHEME_LABELS[scheme]}s start "
            f"with one, e.g. {_COUNTRY_VAT_PREFIX.get(country, country)}...)",
        )
    if found is None:
        return None
    scheme, module, issuing = found
    try:
        compact = str(module.validate(number))
    except stdnum_errors.ValidationError as error:
        return TaxIdCheck(
            scheme=scheme,
            issuing_country=issuing,
            compact=number,
            valid=False,
            code=_failure_code(error),
            message=f"{tax_id!r} is not a valid {SCHEME_LABELS[scheme]}: {error}",
        )
    return TaxIdCheck(scheme=scheme, issuing_country=issuing, compact=compact, valid=True)
