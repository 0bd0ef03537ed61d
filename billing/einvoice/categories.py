"""From q2c's tax lines to an EN 16931 VAT category and rate per invoice line.

The tax engine gives each line one or more tax lines (Canada's GST and PST, a US state's
sales tax) with an EN 16931 category code. EN 16931 gives each line exactly one category
and rate, so:
- a line that is charged any tax is `S` at the sum of its rates, each weighed by the part
  of the amount it taxes (Texas taxes 80 % at 6.25 %: 5 %);
- a line charged nothing keeps the category its tax lines name, the strongest first
  (AE, K, G, E, Z, O);
- `O` ("not subject to VAT") becomes `G` ("export outside the EU") when the customer is
  outside the seller's VAT area: from the seller's VAT point of view it is an export, and
  `O` would forbid the seller's VAT id on the document (BR-O-02).
"""

from decimal import Decimal

from billing.einvoice.document import VatCategory
from schemas.invoice import InvoiceLine, TaxLine

_PRECEDENCE: tuple[VatCategory, ...] = ("AE", "K", "G", "E", "Z", "O")
_HUNDRED = Decimal(100)
_PERCENT_STEP = Decimal("0.001")  # Quebec's QST is 9.975 %

EXEMPTIONS: dict[str, tuple[str, str]] = {
    "AE": ("VATEX-EU-AE", "Reverse charge"),
    "K": ("VATEX-EU-IC", "Intra-Community supply"),
    "G": ("VATEX-EU-G", "Export outside the EU"),
    "O": ("VATEX-EU-O", "Not subject to VAT"),
}
"""BT-121 code and BT-120 text (CEF VATEX list) for the categories that need a reason;
E takes the tax line's own explanation, S and Z take none (BR-S-10, BR-Z-10)."""


def covers(tax: TaxLine, line_id: str) -> bool:
    """Whether the tax line taxes that invoice line, alone or in a grouped total."""
    return tax.line_id == line_id or line_id in tax.line_ids


def line_category(
    line: InvoiceLine, taxes: list[TaxLine], *, export: bool
) -> tuple[VatCategory, Decimal]:
    """The category and percent (19 for 19 %) of one line, from the tax lines covering it."""
    charged = [tax for tax in taxes if tax.rate > 0]
    if charged:
        percent = sum((tax.rate * _fraction(tax, line) for tax in charged), Decimal(0)) * _HUNDRED
        return "S", percent.quantize(_PERCENT_STEP).normalize()
    named = {tax.category_code for tax in taxes}
    for category in _PRECEDENCE:
        if category in named:
            if category == "O" and export:
                return "G", Decimal(0)
            return category, Decimal(0)
    unknown = ", ".join(sorted(named)) or "none"
    raise ValueError(f"tax category {unknown} has no EN 16931 equivalent")


def _fraction(tax: TaxLine, line: InvoiceLine) -> Decimal:
    """The part of the line's amount the tax line taxes (1, or 0.8 in Texas)."""
    if tax.line_id == line.line_id and line.amount:
        return (tax.taxable_amount / line.amount).quantize(Decimal("0.0001"))
    return Decimal(1)


def exemption(category: VatCategory, taxes: list[TaxLine]) -> tuple[str, str]:
    """(BT-121 code, BT-120 text) for a breakdown of `category`."""
    if category in EXEMPTIONS:
        return EXEMPTIONS[category]
    if category == "E":
        reasons = dict.fromkeys(tax.explanation for tax in taxes if tax.explanation)
        return "", "; ".join(reasons) or "Exempt"
    return "", ""
