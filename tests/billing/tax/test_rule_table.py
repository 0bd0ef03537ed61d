"""The packaged rule table: complete where it claims to be, sourced, and strict on load."""

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from importlib.resources import files

import pytest
from stdnum.eu import vat as eu_vat

from billing.money import round_money
from billing.tax import RuleTableEngine, Seller, TaxError
from billing.tax.rules import (
    RuleTableError,
    TaxRule,
    country_slots,
    packaged_rules,
    parse_rules,
    rules_in_force,
)
from tests.billing.tax.published_rates import PUBLISHED
from tests.billing.tax.tax_builders import customer, invoice

TODAY = date(2026, 10, 31)
MEMBER_STATES = sorted(cc.upper() for cc in eu_vat.MEMBER_STATES if cc != "xi")
CURRENT_STANDARD_RATES = {
    "AT": "0.20", "BE": "0.21", "BG": "0.20", "CY": "0.19", "CZ": "0.21", "DE": "0.19",
    "DK": "0.25", "EE": "0.24", "ES": "0.21", "FI": "0.255", "FR": "0.20", "GR": "0.24",
    "HR": "0.25", "HU": "0.27", "IE": "0.23", "IT": "0.22", "LT": "0.21", "LU": "0.17",
    "LV": "0.21", "MT": "0.18", "NL": "0.21", "PL": "0.23", "PT": "0.23", "RO": "0.21",
    "SE": "0.25", "SI": "0.22", "SK": "0.23",
}  # fmt: skip
"""Source: https://taxation-customs.ec.europa.eu/taxation/vat/vat-directive/vat-rates_en"""


def test_every_member_state_has_its_current_standard_rate() -> None:
    assert len(MEMBER_STATES) == 27
    in_force = rules_in_force(packaged_rules(), TODAY)
    standard = {
        rule.country: rule.rate
        for rule in in_force
        if rule.slot == "vat"
        and not rule.subdivision
        and rule.taxability_reason == "standard_rated"
    }
    assert {cc: standard[cc] for cc in MEMBER_STATES} == {
        cc: Decimal(rate) for cc, rate in CURRENT_STANDARD_RATES.items()
    }


def test_every_member_state_reverse_charges_b2b_from_abroad() -> None:
    in_force = rules_in_force(packaged_rules(), TODAY)
    reverse = {
        rule.country
        for rule in in_force
        if rule.taxability_reason == "reverse_charge"
        and rule.category_code == "AE"
        and rule.invoice_note == "Reverse charge"
        and rule.requires == "tax_id"
    }
    assert set(MEMBER_STATES) <= reverse


def test_every_row_names_its_source_and_validity() -> None:
    for rule in packaged_rules():
        assert rule.source.startswith("https://"), rule.rule_id
        assert rule.valid_from <= TODAY, rule.rule_id
        assert rule.description, rule.rule_id


def test_every_slot_has_a_row_for_anyone() -> None:
    """So no customer falls through to 'no rule' where the table covers the jurisdiction."""
    fallbacks = {
        (rule.jurisdiction_key, rule.slot)
        for rule in rules_in_force(packaged_rules(), TODAY)
        if rule.specificity == 0
    }
    slots = {(rule.jurisdiction_key, rule.slot) for rule in rules_in_force(packaged_rules(), TODAY)}
    assert slots == fallbacks


def test_a_rate_change_is_one_row() -> None:
    """Germany going to 21% from 2027-01-01: close the old row, add one, nothing else."""
    table = packaged_rules()
    current = next(rule for rule in table if rule.rule_id == "DE-VAT-STD")
    closed = current.model_copy(update={"valid_to": date(2027, 1, 1)})
    new = current.model_copy(
        update={
            "rule_id": "DE-VAT-STD-2027",
            "rate": Decimal("0.21"),
            "valid_from": date(2027, 1, 1),
        }
    )
    rules = [closed if rule is current else rule for rule in table] + [new]
    engine = RuleTableEngine(rules=rules)
    de = customer("DE", customer_type="individual")
    december = engine.evaluate(
        invoice("100.00", period=(date(2026, 12, 1), date(2027, 1, 1))),
        seller=Seller(),
        customer=de,
    )
    january = engine.evaluate(
        invoice("100.00", period=(date(2027, 1, 1), date(2027, 2, 1))), seller=Seller(), customer=de
    )
    assert [line.tax_amount for line in december.tax_lines] == [Decimal("19.00")]
    assert [(line.rule_id, line.tax_amount) for line in january.tax_lines] == [
        ("DE-VAT-STD-2027", Decimal("21.00"))
    ]


HEADER = (
    "rule_id,country,subdivision,slot,tax_type,level,rate,taxable_fraction,taxability_reason,"
    "category_code,seller_location,customer_type,requires,registration,rounding,valid_from,"
    "valid_to,invoice_note,description,source\n"
)
GOOD = "X1,DE,,vat,vat,country,0.19,1,standard_rated,S,any,any,,DE,group,2024-01-01,,,d,https://e.org\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rule_id,country\nX,DE\n", "the header must be"),
        (HEADER + GOOD.replace("0.19", "19%"), "line 2: rate"),
        (HEADER + GOOD.replace("0.19", "1.5"), "line 2: rate"),
        (HEADER + GOOD.replace(",vat,vat,", ",vat,vta,"), "line 2: tax_type"),
        (HEADER + GOOD.replace("https://e.org", "e.org"), "line 2: source"),
        (HEADER + GOOD.replace(",DE,,", ",Germany,,"), "line 2: country"),
        (HEADER + GOOD.replace(",DE,,", ",DE,US-NY,"), "is not in DE"),
        (HEADER + GOOD.replace("2024-01-01,,", "2024-01-01,2023-01-01,"), "valid_to"),
        (HEADER + GOOD.replace(",S,any,any,,DE,", ",S,any,any,,,"), "registration"),
        (HEADER + GOOD.replace("0.19,1,standard_rated", "0,1,standard_rated"), "rate above 0"),
        (HEADER + GOOD + GOOD, "line 3: rule_id X1 is used twice"),
        (HEADER + GOOD + GOOD.replace("X1", "X2"), "X1 and X2 overlap"),
    ],
)
def test_a_bad_table_is_refused_naming_line_and_column(text: str, message: str) -> None:
    with pytest.raises(RuleTableError, match=message):
        parse_rules(text)


def _exercisable(rule: TaxRule) -> bool:
    # Rows needing a tax ID have their own cases (test_rules_by_jurisdiction); a country-level
    # row of a country taxed by subdivision is reached through a subdivision there.
    _, regional_only = country_slots(packaged_rules(), rule.country)
    return rule.requires != "tax_id" and not (not rule.subdivision and regional_only)


ROWS = [rule for rule in packaged_rules() if _exercisable(rule)]


@pytest.mark.parametrize("rule", ROWS, ids=[rule.rule_id for rule in ROWS])
def test_every_row_is_chosen_for_the_sale_it_describes(rule: TaxRule) -> None:
    """Each row, on its first day, for a customer meeting its conditions: the engine picks
    it and reports its rate, reason and source (the row's `source` column)."""
    everywhere = sorted({name for row in packaged_rules() for name in row.registration})
    seller = Seller(registrations=everywhere)
    if rule.seller_location == "domestic":
        seller = seller.model_copy(update={"country": rule.country})
    elif seller.country == rule.country:
        seller = seller.model_copy(update={"country": "US"})
    who = customer(
        rule.country,
        rule.subdivision,
        customer_type="business" if rule.customer_type == "business" else "individual",
        exemption_certificate="CERT-1" if rule.requires == "exemption_certificate" else "",
    )
    draft = invoice("100.00", period=(rule.valid_from, rule.valid_from + timedelta(days=1)))
    if rule.taxability_reason == "unsupported":
        with pytest.raises(TaxError) as raised:
            RuleTableEngine().evaluate(draft, seller=seller, customer=who)
        assert raised.value.code == "tax_jurisdiction_unsupported"
        assert rule.rule_id in raised.value.message
        return
    result = RuleTableEngine().evaluate(draft, seller=seller, customer=who)
    (line,) = [line for line in result.tax_lines if line.rule_id == rule.rule_id]
    assert (line.taxability_reason, line.source, line.category_code) == (
        rule.taxability_reason,
        rule.source,
        rule.category_code,
    )
    rate, fraction, _ = PUBLISHED[rule.rule_id]  # the authority's figures, not the row's
    assert line.rate == rate
    assert line.tax_amount == round_money(Decimal("100.00") * fraction * rate, "EUR")


def _unlike_published(rules: Iterable[TaxRule]) -> dict[str, object]:
    """Rows whose rate or taxable share differs from the published one, or has none."""
    table = {rule.rule_id: (rule.rate, rule.taxable_fraction) for rule in rules}
    return {
        rule_id: (found, PUBLISHED.get(rule_id, ("no published rate",))[:2])
        for rule_id, found in table.items()
        if rule_id not in PUBLISHED or found != PUBLISHED[rule_id][:2]
    }


def test_every_row_has_the_published_rate_and_taxable_share() -> None:
    assert _unlike_published(packaged_rules()) == {}
    assert {rule.rule_id for rule in packaged_rules()} == set(PUBLISHED)


def test_a_wrong_rate_in_the_table_is_caught() -> None:
    text = (files("billing.tax") / "rules.csv").read_text("utf-8")
    typo = text.replace(",DE,,vat,vat,country,0.19,", ",DE,,vat,vat,country,0.16,")
    assert _unlike_published(parse_rules(typo)) == {
        "DE-VAT-STD": ((Decimal("0.16"), Decimal("1")), (Decimal("0.19"), Decimal("1")))
    }
