"""A single flat rate for every line: a tax engine the rating properties need no table for."""

from decimal import Decimal

from billing.money import round_money
from billing.tax.engine import Seller, TaxResult
from schemas.customer import Customer
from schemas.invoice import Invoice, TaxLine


class FlatRateEngine:
    def __init__(self, *, rate: Decimal, country: str = "", rule_id: str = "flat") -> None:
        self._rate = rate
        self._country = country
        self._rule_id = rule_id

    def evaluate(
        self,
        invoice: Invoice,
        *,
        seller: Seller,
        customer: Customer,  # noqa: ARG002
    ) -> TaxResult:
        country = self._country or seller.country
        lines = []
        for line in invoice.lines:
            unrounded = line.amount * self._rate
            lines.append(
                TaxLine(
                    line_id=line.line_id,
                    country=country,
                    jurisdiction=country,
                    level="country",
                    tax_type="vat",
                    rate=self._rate,
                    taxable_amount=line.amount,
                    tax_amount=round_money(unrounded, invoice.currency),
                    unrounded_tax_amount=unrounded,
                    taxability_reason="standard_rated",
                    rule_id=self._rule_id,
                    source="configuration",
                    category_code="S",
                )
            )
        return TaxResult(tax_lines=lines)
