"""One or more cases per rule of the table, each citing the source the rule rests on.

Every case taxes the same invoice (100.00 + 33.33) and checks the lines the engine chose:
jurisdiction, tax type, rate, reason, EN 16931 category, rule and source, and the tax.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from billing.tax import RuleTableEngine, Seller, apply_tax
from tests.billing.tax.tax_builders import customer, invoice

EU_RATES = "https://taxation-customs.ec.europa.eu/taxation/vat/vat-directive/vat-rates_en"
VAT_DIRECTIVE = "https://eur-lex.europa.eu/eli/dir/2006/112/oj"
UK_RATES = "https://www.gov.uk/guidance/rates-of-vat-on-different-goods-and-services"
UK_REVERSE = "https://www.gov.uk/guidance/vat-place-of-supply-of-services-notice-741a"
CA_RATES = (
    "https://www.canada.ca/en/revenue-agency/services/tax/businesses/topics/gst-hst-businesses/"
    "charge-collect-which-rate.html"
)
BC_PST = "https://www2.gov.bc.ca/gov/content/taxes/sales-taxes/pst/software"
SK_PST = (
    "https://www.saskatchewan.ca/business/taxes-licensing-and-reporting/"
    "provincial-taxes-policies-and-bulletins/provincial-sales-tax"
)
MB_RST = "https://www.gov.mb.ca/finance/taxation/taxes/retail.html"
QC_QST = "https://www.revenuquebec.ca/en/businesses/consumption-taxes/gsthst-and-qst/"
AU_GST = (
    "https://www.ato.gov.au/businesses-and-organisations/international-tax-for-business/"
    "gst-for-non-resident-businesses"
)
NY = "https://www.tax.ny.gov/pubs_and_bulls/tg_bulletins/st/computer_software.htm"
NY_EXEMPT = "https://www.tax.ny.gov/pubs_and_bulls/tg_bulletins/st/exemption_certificates.htm"
PA = "https://www.revenue.pa.gov/TaxTypes/SUT/Pages/default.aspx"
WA = (
    "https://dor.wa.gov/forms-publications/publications-subject/tax-topics/"
    "digital-products-including-digital-goods"
)
TX = "https://comptroller.texas.gov/taxes/publications/96-1308.php"
CA_STATE = "https://www.cdtfa.ca.gov/formspubs/pub109/"
FL = "https://floridarevenue.com/taxes/taxesfees/Pages/sales_tax.aspx"

US_SELLER = Seller(name="Acme Inc", country="US", subdivision="US-CA", tax_id="", registrations=[])
UK_SELLER = Seller(name="Acme Ltd", country="GB", tax_id="GB980780684", registrations=[])


@dataclass(frozen=True)
class Expect:
    rule_id: str
    jurisdiction: str
    tax_type: str
    rate: str
    reason: str
    category: str
    source: str


@dataclass(frozen=True)
class Case:
    name: str
    customer: dict[str, Any]
    lines: list[Expect]
    tax_total: str
    seller: Seller = field(default_factory=Seller)
    period: tuple[date, date] = (date(2026, 10, 1), date(2026, 11, 1))
    notes: tuple[str, ...] = ()
    uncertain: bool = False


def _c(country: str, subdivision: str = "", **fields: Any) -> dict[str, Any]:
    return {"country": country, "subdivision": subdivision, **fields}


def _eu(cc: str, rate: str, rule: str = "") -> Expect:
    return Expect(rule or f"{cc}-VAT-STD", cc, "vat", rate, "standard_rated", "S", EU_RATES)


def _rc(cc: str) -> Expect:
    return Expect(f"{cc}-VAT-RC", cc, "vat", "0", "reverse_charge", "AE", VAT_DIRECTIVE)


def _us(state: str, rate: str, reason: str = "standard_rated", category: str = "S") -> Expect:
    sources = {"US-NY": NY, "US-PA": PA, "US-WA": WA, "US-TX": TX, "US-CA": CA_STATE, "US-FL": FL}
    return Expect(f"{state}-SAAS", state, "sales_tax", rate, reason, category, sources[state])


B2C = {"customer_type": "individual"}

CASES = [
    # EU: domestic sale at the seller's rate.
    Case("DE domestic B2B", _c("DE", tax_id="DE136695976"), [_eu("DE", "0.19")], "25.33"),
    Case("DE domestic B2C", _c("DE", **B2C), [_eu("DE", "0.19")], "25.33"),
    # EU: cross-border B2B with a valid VAT number -> reverse charge.
    Case(
        "FR B2B reverse charge",
        _c("FR", tax_id="FR40303265045"),
        [_rc("FR")],
        "0.00",
        notes=("Reverse charge",),
    ),
    Case(
        "NL B2B reverse charge",
        _c("NL", tax_id="NL004495445B01"),
        [_rc("NL")],
        "0.00",
        notes=("Reverse charge",),
    ),
    Case(
        "GR B2B reverse charge with an EL prefix",
        _c("GR", tax_id="EL094259216"),
        [_rc("GR")],
        "0.00",
        notes=("Reverse charge",),
    ),
    Case(
        "non-EU seller to a DE business: reverse charge",
        _c("DE", tax_id="DE136695976"),
        [_rc("DE")],
        "0.00",
        seller=US_SELLER,
        notes=("Reverse charge",),
    ),
    # EU: B2C electronic services at the customer's rate (OSS).
    Case("ES B2C at the Spanish rate", _c("ES", "ES-M", **B2C), [_eu("ES", "0.21")], "28.00"),
    Case("FR B2C at the French rate", _c("FR", **B2C), [_eu("FR", "0.20")], "26.67"),
    Case("HU B2C at the Hungarian rate", _c("HU", **B2C), [_eu("HU", "0.27")], "36.00"),
    Case("LU B2C at the Luxembourg rate", _c("LU", **B2C), [_eu("LU", "0.17")], "22.67"),
    Case(
        "FR business without a VAT number: taxed as B2C, flagged",
        _c("FR"),
        [_eu("FR", "0.20")],
        "26.67",
        uncertain=True,
    ),
    Case(
        "AT business with a DE VAT number: taxed as B2C, flagged",
        _c("AT", tax_id="DE136695976"),
        [_eu("AT", "0.20")],
        "26.67",
        uncertain=True,
    ),
    # EU rate history: the rule in force on the tax date (the period's last day).
    Case(
        "EE 24% from 2025-07-01",
        _c("EE", **B2C),
        [_eu("EE", "0.24", "EE-VAT-STD-2025-07")],
        "32.00",
    ),
    Case(
        "EE 22% before",
        _c("EE", **B2C),
        [_eu("EE", "0.22", "EE-VAT-STD-2024-01")],
        "29.33",
        period=(date(2025, 6, 1), date(2025, 7, 1)),
    ),
    Case("FI 25.5%", _c("FI", **B2C), [_eu("FI", "0.255", "FI-VAT-STD-2024-09")], "34.00"),
    Case(
        "FI 24% before 2024-09-01",
        _c("FI", **B2C),
        [_eu("FI", "0.24", "FI-VAT-STD-2024-01")],
        "32.00",
        period=(date(2024, 8, 1), date(2024, 9, 1)),
    ),
    Case("RO 21%", _c("RO", **B2C), [_eu("RO", "0.21", "RO-VAT-STD-2025-08")], "28.00"),
    Case("SK 23%", _c("SK", **B2C), [_eu("SK", "0.23", "SK-VAT-STD-2025-01")], "30.67"),
    # UK.
    Case(
        "GB business from abroad: reverse charge",
        _c("GB", tax_id="GB980780684"),
        [Expect("GB-VAT-RC", "GB", "vat", "0", "reverse_charge", "AE", UK_REVERSE)],
        "0.00",
        notes=("Reverse charge",),
    ),
    Case(
        "Northern Ireland business with an XI number: reverse charge",
        _c("GB", "GB-NIR", tax_id="XI980780684"),
        [Expect("GB-VAT-RC", "GB", "vat", "0", "reverse_charge", "AE", UK_REVERSE)],
        "0.00",
        notes=("Reverse charge",),
    ),
    Case(
        "GB consumer: 20%",
        _c("GB", **B2C),
        [Expect("GB-VAT-STD", "GB", "vat", "0.20", "standard_rated", "S", UK_RATES)],
        "26.67",
    ),
    Case(
        "GB seller to a GB business: domestic 20%",
        _c("GB", tax_id="GB980780684"),
        [Expect("GB-VAT-STD", "GB", "vat", "0.20", "standard_rated", "S", UK_RATES)],
        "26.67",
        seller=UK_SELLER,
    ),
    # Canada: GST or HST, plus the provincial tax where SaaS is taxable (item basis).
    Case(
        "BC: GST 5% + PST 7%",
        _c("CA", "CA-BC", tax_id="123456782", currency="CAD"),
        [
            Expect("CA-GST", "CA", "gst", "0.05", "standard_rated", "S", CA_RATES),
            Expect("CA-BC-PST", "CA-BC", "pst", "0.07", "standard_rated", "S", BC_PST),
        ],
        "16.00",
    ),
    Case(
        "SK: GST 5% + PST 6%",
        _c("CA", "CA-SK", **B2C),
        [
            Expect("CA-GST", "CA", "gst", "0.05", "standard_rated", "S", CA_RATES),
            Expect("CA-SK-PST", "CA-SK", "pst", "0.06", "standard_rated", "S", SK_PST),
        ],
        "14.67",
    ),
    Case(
        "MB: GST 5% + RST 7%",
        _c("CA", "CA-MB", **B2C),
        [
            Expect("CA-GST", "CA", "gst", "0.05", "standard_rated", "S", CA_RATES),
            Expect("CA-MB-RST", "CA-MB", "rst", "0.07", "standard_rated", "S", MB_RST),
        ],
        "16.00",
    ),
    Case(
        "QC: GST 5% + QST 9.975%",
        _c("CA", "CA-QC", **B2C),
        [
            Expect("CA-GST", "CA", "gst", "0.05", "standard_rated", "S", CA_RATES),
            Expect("CA-QC-QST", "CA-QC", "qst", "0.09975", "standard_rated", "S", QC_QST),
        ],
        "19.97",
    ),
    Case(
        "ON: HST 13% replaces GST",
        _c("CA", "CA-ON", **B2C),
        [Expect("CA-ON-HST", "CA-ON", "hst", "0.13", "standard_rated", "S", CA_RATES)],
        "17.33",
    ),
    Case(
        "NS: HST 14% from 2025-04-01",
        _c("CA", "CA-NS", **B2C),
        [Expect("CA-NS-HST-2025-04", "CA-NS", "hst", "0.14", "standard_rated", "S", CA_RATES)],
        "18.67",
    ),
    Case(
        "NS: HST 15% before",
        _c("CA", "CA-NS", **B2C),
        [Expect("CA-NS-HST-2024-01", "CA-NS", "hst", "0.15", "standard_rated", "S", CA_RATES)],
        "20.00",
        period=(date(2025, 3, 1), date(2025, 4, 1)),
    ),
    Case(
        "AB: GST only",
        _c("CA", "CA-AB", **B2C),
        [Expect("CA-GST", "CA", "gst", "0.05", "standard_rated", "S", CA_RATES)],
        "6.67",
    ),
    Case(
        "BC without a PST registration: PST not collected",
        _c("CA", "CA-BC", **B2C),
        [
            Expect("CA-GST", "CA", "gst", "0.05", "standard_rated", "S", CA_RATES),
            Expect("CA-BC-PST", "CA-BC", "pst", "0", "not_collecting", "O", BC_PST),
        ],
        "6.67",
        seller=Seller(registrations=["CA"]),
    ),
    # Australia.
    Case(
        "AU business with an ABN: no GST",
        _c("AU", "AU-NSW", tax_id="51824753556"),
        [Expect("AU-GST-B2B", "AU", "gst", "0", "reverse_charge", "AE", AU_GST)],
        "0.00",
        notes=(
            "GST not charged: the customer is an Australian business with an ABN (reverse charge)",
        ),
    ),
    Case(
        "AU consumer: GST 10%",
        _c("AU", "AU-VIC", **B2C),
        [Expect("AU-GST", "AU", "gst", "0.10", "standard_rated", "S", AU_GST)],
        "13.33",
    ),
    Case(
        "AU business without an ABN: GST 10%, flagged",
        _c("AU"),
        [Expect("AU-GST", "AU", "gst", "0.10", "standard_rated", "S", AU_GST)],
        "13.33",
        uncertain=True,
    ),
    # United States: SaaS taxability per state, state rate only.
    Case("NY 4%", _c("US", "US-NY"), [_us("US-NY", "0.04")], "5.33"),
    Case("PA 6%", _c("US", "US-PA"), [_us("US-PA", "0.06")], "8.00"),
    Case("WA 6.5%", _c("US", "US-WA"), [_us("US-WA", "0.065")], "8.67"),
    Case("TX 6.25% on 80%", _c("US", "US-TX"), [_us("US-TX", "0.0625")], "6.67"),
    Case("CA not taxable", _c("US", "US-CA"), [_us("US-CA", "0", "not_taxable", "O")], "0.00"),
    Case("FL not taxable", _c("US", "US-FL"), [_us("US-FL", "0", "not_taxable", "O")], "0.00"),
    Case(
        "NY with an exemption certificate: exempt",
        _c("US", "US-NY", exemption_certificate="ST-120-7781"),
        [Expect("US-NY-EXEMPT", "US-NY", "sales_tax", "0", "exempt", "E", NY_EXEMPT)],
        "0.00",
    ),
    Case(
        "PA without a registration: not collected",
        _c("US", "US-PA"),
        [_us("US-PA", "0", "not_collecting", "O")],
        "0.00",
        seller=Seller(registrations=["US-NY"]),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_rule(case: Case) -> None:
    draft = invoice("100.00", "33.33", currency="EUR", period=case.period)
    result = RuleTableEngine().evaluate(
        draft, seller=case.seller, customer=customer(**case.customer)
    )
    seen = {
        (
            line.rule_id,
            line.jurisdiction,
            line.tax_type,
            line.rate,
            line.taxability_reason,
            line.category_code,
            line.source,
        )
        for line in result.tax_lines
    }
    expected = {
        (e.rule_id, e.jurisdiction, e.tax_type, Decimal(e.rate), e.reason, e.category, e.source)
        for e in case.lines
    }
    assert seen == expected
    assert apply_tax(draft, result).tax_total == Decimal(case.tax_total)
    assert tuple(result.notes) == case.notes
    assert result.uncertain is case.uncertain
    assert all(line.explanation for line in result.tax_lines)
