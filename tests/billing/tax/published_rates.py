# ruff: noqa: E501  (a citation is kept on its row, whole)
"""Tax rates for SaaS as the authorities publish them, one row per rule of the packaged
table, each with its citation: what tests check `rules.csv` against. Written from the sources,
not from the table, so a wrong rate in the table fails."""

from decimal import Decimal

EC_RATES = (
    "https://taxation-customs.ec.europa.eu/taxation/vat/vat-directive/vat-rates_en"
    " (European Commission, VAT rates applied in the Member States)"
)
EU_REVERSE_CHARGE = "Directive 2006/112/EC art. 44 and 196: the customer accounts for the VAT"
OUTSIDE_EU_VAT = "Directive 2006/112/EC art. 6: outside the EU VAT territory, no EU VAT"
CRA = (
    "https://www.canada.ca/en/revenue-agency/services/tax/businesses/topics/gst-hst-businesses/"
    "charge-collect-which-rate.html (GST 5%; HST ON 13%, NB NL PE 15%, NS 15% then 14%)"
)

PUBLISHED: dict[str, tuple[Decimal, Decimal, str]] = {
    # rule id: (rate, taxable fraction, source)
    "AT-VAT-STD": (Decimal("0.20"), Decimal("1"), EC_RATES),
    "BE-VAT-STD": (Decimal("0.21"), Decimal("1"), EC_RATES),
    "BG-VAT-STD": (Decimal("0.20"), Decimal("1"), EC_RATES),
    "HR-VAT-STD": (Decimal("0.25"), Decimal("1"), EC_RATES),
    "CY-VAT-STD": (Decimal("0.19"), Decimal("1"), EC_RATES),
    "CZ-VAT-STD": (Decimal("0.21"), Decimal("1"), EC_RATES),
    "DK-VAT-STD": (Decimal("0.25"), Decimal("1"), EC_RATES),
    "FR-VAT-STD": (Decimal("0.20"), Decimal("1"), EC_RATES),
    "DE-VAT-STD": (Decimal("0.19"), Decimal("1"), EC_RATES),
    "GR-VAT-STD": (Decimal("0.24"), Decimal("1"), EC_RATES),
    "HU-VAT-STD": (Decimal("0.27"), Decimal("1"), EC_RATES),
    "IE-VAT-STD": (Decimal("0.23"), Decimal("1"), EC_RATES),
    "IT-VAT-STD": (Decimal("0.22"), Decimal("1"), EC_RATES),
    "LV-VAT-STD": (Decimal("0.21"), Decimal("1"), EC_RATES),
    "LT-VAT-STD": (Decimal("0.21"), Decimal("1"), EC_RATES),
    "LU-VAT-STD": (Decimal("0.17"), Decimal("1"), EC_RATES),
    "MT-VAT-STD": (Decimal("0.18"), Decimal("1"), EC_RATES),
    "NL-VAT-STD": (Decimal("0.21"), Decimal("1"), EC_RATES),
    "PL-VAT-STD": (Decimal("0.23"), Decimal("1"), EC_RATES),
    "PT-VAT-STD": (Decimal("0.23"), Decimal("1"), EC_RATES),
    "SI-VAT-STD": (Decimal("0.22"), Decimal("1"), EC_RATES),
    "ES-VAT-STD": (Decimal("0.21"), Decimal("1"), EC_RATES),
    "SE-VAT-STD": (Decimal("0.25"), Decimal("1"), EC_RATES),
    "EE-VAT-STD-2024-01": (
        Decimal("0.22"),
        Decimal("1"),
        "https://www.emta.ee/en/business-client/taxes-and-payment/value-added-tax (22% from 2024-01-01)",
    ),
    "EE-VAT-STD-2025-07": (
        Decimal("0.24"),
        Decimal("1"),
        "https://www.emta.ee/en/business-client/taxes-and-payment/value-added-tax (24% from 2025-07-01)",
    ),
    "FI-VAT-STD-2024-01": (
        Decimal("0.24"),
        Decimal("1"),
        "https://www.vero.fi/en/businesses-and-corporations/taxes-and-charges/vat/rates-of-vat/ (24% until 2024-08-31)",
    ),
    "FI-VAT-STD-2024-09": (
        Decimal("0.255"),
        Decimal("1"),
        "https://www.vero.fi/en/businesses-and-corporations/taxes-and-charges/vat/rates-of-vat/ (25.5% from 2024-09-01)",
    ),
    "RO-VAT-STD-2024-01": (
        Decimal("0.19"),
        Decimal("1"),
        "Romanian Fiscal Code (Law 227/2015) art. 291: 19% until 2025-07-31",
    ),
    "RO-VAT-STD-2025-08": (
        Decimal("0.21"),
        Decimal("1"),
        "Romanian Law 141/2025 amending Fiscal Code art. 291 (21% from 2025-08-01)",
    ),
    "SK-VAT-STD-2024-01": (
        Decimal("0.20"),
        Decimal("1"),
        "https://www.financnasprava.sk (Slovak VAT Act 222/2004, 20% until 2024-12-31)",
    ),
    "SK-VAT-STD-2025-01": (
        Decimal("0.23"),
        Decimal("1"),
        "Slovak Act 530/2024 amending the VAT Act (23% from 2025-01-01)",
    ),
    "AT-VAT-RC": (Decimal("0"), Decimal("1"), EU_REVERSE_CHARGE),
    "BE-VAT-RC": (Decimal("0"), Decimal("1"), EU_REVERSE_CHARGE),
    "BG-VAT-RC": (Decimal("0"), Decimal("1"), EU_REVERSE_CHARGE),
    "HR-VAT-RC": (Decimal("0"), Decimal("1"), EU_REVERSE_CHARGE),
    "CY-VAT-RC": (Decimal("0"), Decimal("1"), EU_REVERSE_CHARGE),
    "CZ-VAT-RC": (Decimal("0"), Decimal("1"), EU_REVERSE_CHARGE),
    "DK-VAT-RC": (Decimal("0"), Decimal("1"), EU_REVERSE_CHARGE),
    "FR-VAT-RC": (Decimal("0"), Decimal("1"), EU_REVERSE_CHARGE),
    "DE-VAT-RC": (Decimal("0"), Decimal("1"), EU_REVERSE_CHARGE),
    "GR-VAT-RC": (Decimal("0"), Decimal("1"), EU_REVERSE_CHARGE),
    "HU-VAT-RC": (Decimal("0"), Decimal("1"), EU_REVERSE_CHARGE),
    "IE-VAT-RC": (Decimal("0"), Decimal("1"), EU_REVERSE_CHARGE),
    "IT-VAT-RC": (Decimal("0"), Decimal("1"), EU_REVERSE_CHARGE),
    "LV-VAT-RC": (Decimal("0"), Decimal("1"), EU_REVERSE_CHARGE),
    "LT-VAT-RC": (Decimal("0"), Decimal("1"), EU_REVERSE_CHARGE),
    "LU-VAT-RC": (Decimal("0"), Decimal("1"), EU_REVERSE_CHARGE),
    "MT-VAT-RC": (Decimal("0"), Decimal("1"), EU_REVERSE_CHARGE),
    "NL-VAT-RC": (Decimal("0"), Decimal("1"), EU_REVERSE_CHARGE),
    "PL-VAT-RC": (Decimal("0"), Decimal("1"), EU_REVERSE_CHARGE),
    "PT-VAT-RC": (Decimal("0"), Decimal("1"), EU_REVERSE_CHARGE),
    "SI-VAT-RC": (Decimal("0"), Decimal("1"), EU_REVERSE_CHARGE),
    "ES-VAT-RC": (Decimal("0"), Decimal("1"), EU_REVERSE_CHARGE),
    "SE-VAT-RC": (Decimal("0"), Decimal("1"), EU_REVERSE_CHARGE),
    "EE-VAT-RC": (Decimal("0"), Decimal("1"), EU_REVERSE_CHARGE),
    "FI-VAT-RC": (Decimal("0"), Decimal("1"), EU_REVERSE_CHARGE),
    "RO-VAT-RC": (Decimal("0"), Decimal("1"), EU_REVERSE_CHARGE),
    "SK-VAT-RC": (Decimal("0"), Decimal("1"), EU_REVERSE_CHARGE),
    "ES-CN-VAT-EXCLUDED": (Decimal("0"), Decimal("1"), OUTSIDE_EU_VAT),
    "ES-CE-VAT-EXCLUDED": (Decimal("0"), Decimal("1"), OUTSIDE_EU_VAT),
    "ES-ML-VAT-EXCLUDED": (Decimal("0"), Decimal("1"), OUTSIDE_EU_VAT),
    "FI-01-VAT-EXCLUDED": (Decimal("0"), Decimal("1"), OUTSIDE_EU_VAT),
    "GR-69-VAT-EXCLUDED": (Decimal("0"), Decimal("1"), OUTSIDE_EU_VAT),
    "FR-971-VAT-EXCLUDED": (Decimal("0"), Decimal("1"), OUTSIDE_EU_VAT),
    "FR-972-VAT-EXCLUDED": (Decimal("0"), Decimal("1"), OUTSIDE_EU_VAT),
    "FR-973-VAT-EXCLUDED": (Decimal("0"), Decimal("1"), OUTSIDE_EU_VAT),
    "FR-974-VAT-EXCLUDED": (Decimal("0"), Decimal("1"), OUTSIDE_EU_VAT),
    "FR-976-VAT-EXCLUDED": (Decimal("0"), Decimal("1"), OUTSIDE_EU_VAT),
    "GB-VAT-STD": (
        Decimal("0.20"),
        Decimal("1"),
        "https://www.gov.uk/vat-rates (standard rate 20%)",
    ),
    "GB-VAT-RC": (
        Decimal("0"),
        Decimal("1"),
        "https://www.gov.uk/guidance/vat-place-of-supply-of-services-notice-741a (reverse charge)",
    ),
    "CA-GST": (Decimal("0.05"), Decimal("1"), CRA),
    "CA-ON-HST": (Decimal("0.13"), Decimal("1"), CRA),
    "CA-NB-HST": (Decimal("0.15"), Decimal("1"), CRA),
    "CA-NL-HST": (Decimal("0.15"), Decimal("1"), CRA),
    "CA-PE-HST": (Decimal("0.15"), Decimal("1"), CRA),
    "CA-NS-HST-2024-01": (Decimal("0.15"), Decimal("1"), CRA),
    "CA-NS-HST-2025-04": (Decimal("0.14"), Decimal("1"), CRA),
    "CA-BC-PST": (
        Decimal("0.07"),
        Decimal("1"),
        "https://www2.gov.bc.ca/gov/content/taxes/sales-taxes/pst (PST 7%; software incl. SaaS, Bulletin PST 105)",
    ),
    "CA-SK-PST": (
        Decimal("0.06"),
        Decimal("1"),
        "https://www.saskatchewan.ca/business/taxes-licensing-and-reporting/provincial-taxes-policies-and-bulletins/provincial-sales-tax (PST 6%, Bulletin PST-64 computer services)",
    ),
    "CA-MB-RST": (
        Decimal("0.07"),
        Decimal("1"),
        "https://www.gov.mb.ca/finance/taxation/taxes/retail.html (RST 7%)",
    ),
    "CA-QC-QST": (
        Decimal("0.09975"),
        Decimal("1"),
        "https://www.revenuquebec.ca/en/businesses/consumption-taxes/gsthst-and-qst/ (QST 9.975%)",
    ),
    "AU-GST": (
        Decimal("0.10"),
        Decimal("1"),
        "https://www.ato.gov.au/businesses-and-organisations/gst-excise-and-indirect-taxes/gst (GST 10%)",
    ),
    "AU-GST-B2B": (
        Decimal("0"),
        Decimal("1"),
        "https://www.ato.gov.au (imported services to GST-registered businesses: reverse charge, A New Tax System (GST) Act 1999 div. 84)",
    ),
    "US-NY-SAAS": (
        Decimal("0.04"),
        Decimal("1"),
        "https://www.tax.ny.gov/pubs_and_bulls/publications/sales/pub718.htm (state rate 4%; TSB-A-09(44)S prewritten software incl. remote access)",
    ),
    "US-PA-SAAS": (
        Decimal("0.06"),
        Decimal("1"),
        "https://www.revenue.pa.gov/TaxTypes/SUT/Pages/default.aspx (6%; canned software incl. electronic access, 72 P.S. 7201)",
    ),
    "US-WA-SAAS": (
        Decimal("0.065"),
        Decimal("1"),
        "https://dor.wa.gov/taxes-rates/sales-use-tax-rates (state rate 6.5%; digital automated services, RCW 82.04.192)",
    ),
    "US-TX-SAAS": (
        Decimal("0.0625"),
        Decimal("0.8"),
        "https://comptroller.texas.gov/taxes/sales/ (state rate 6.25%; data processing 80% taxable, Tax Code 151.351)",
    ),
    "US-CA-SAAS": (
        Decimal("0"),
        Decimal("1"),
        "https://www.cdtfa.ca.gov/formspubs/pub109/ (remote access to software is not a sale of tangible property)",
    ),
    "US-FL-SAAS": (
        Decimal("0"),
        Decimal("1"),
        "https://floridarevenue.com (SaaS not a taxable sale, TAA 14A-013)",
    ),
    "US-NY-EXEMPT": (
        Decimal("0"),
        Decimal("1"),
        "https://www.tax.ny.gov (exempt with a valid exemption certificate, Form ST-119.1)",
    ),
    "US-PA-EXEMPT": (
        Decimal("0"),
        Decimal("1"),
        "https://www.revenue.pa.gov (exempt with a valid certificate, REV-1220)",
    ),
    "US-WA-EXEMPT": (
        Decimal("0"),
        Decimal("1"),
        "https://dor.wa.gov/taxes-rates/retail-sales-tax/exemption-certificates",
    ),
    "US-TX-EXEMPT": (
        Decimal("0"),
        Decimal("1"),
        "https://comptroller.texas.gov (exempt with a valid certificate, Form 01-339)",
    ),
}
