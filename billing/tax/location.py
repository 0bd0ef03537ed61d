"""Where a sale is taxed: the customer's country and subdivision, checked against ISO 3166."""

from dataclasses import dataclass

import pycountry

from billing.tax.engine import TaxError
from schemas.customer import Customer


@dataclass(frozen=True, kw_only=True)
class Location:
    country: str
    subdivision: str = ""
    chain: tuple[str, ...] = ()
    """Jurisdiction keys from the most specific (subdivision, its parents) to the country."""


EU_MEMBER_STATES = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()
)
"""ISO 3166-1 codes of the EU's 27 member states (one VAT area, Directive 2006/112/EC)."""


def same_vat_area(first: str, second: str) -> bool:
    """True when both countries are in the EU, or are the same country."""
    a, b = first.strip().upper(), second.strip().upper()
    return a == b or (a in EU_MEMBER_STATES and b in EU_MEMBER_STATES)


def known_country(code: str) -> bool:
    return len(code) == 2 and pycountry.countries.get(alpha_2=code.upper()) is not None


def subdivision_parents(code: str) -> tuple[str, ...] | None:
    """`code` and its parents (ES-M -> ES-M, ES-MD), or None when ISO 3166-2 lacks it."""
    chain: list[str] = []
    current: str | None = code.upper()
    while current:
        # pycountry's subdivision lookup is the one untyped entry point it has.
        found = pycountry.subdivisions.get(code=current)  # type: ignore[no-untyped-call]
        if found is None:
            return None if not chain else tuple(chain)
        chain.append(str(found.code))
        current = found.parent_code
    return tuple(chain)


def customer_location(customer: Customer) -> Location:
    """The customer's place for tax, or a TaxError naming what is missing or unknown."""
    address = customer.address
    if address is None or not address.country.strip():
        raise TaxError(
            "customer_location_missing",
            f"customer {customer.id} has no country (customer.address.country): "
            "tax cannot be decided without it",
        )
    country = address.country.strip().upper()
    if not known_country(country):
        raise TaxError(
            "unknown_country",
            f"customer.address.country: {address.country!r} is not an ISO 3166-1 alpha-2 code",
        )
    subdivision = address.subdivision.strip().upper()
    if not subdivision:
        return Location(country=country, chain=(country,))
    parents = subdivision_parents(subdivision)
    if parents is None:
        raise TaxError(
            "unknown_subdivision",
            f"customer.address.subdivision: {address.subdivision!r} is not an ISO 3166-2 code",
        )
    if not subdivision.startswith(f"{country}-"):
        raise TaxError(
            "unknown_subdivision",
            f"customer.address.subdivision: {subdivision} is not in {country}",
        )
    return Location(country=country, subdivision=subdivision, chain=(*parents, country))
