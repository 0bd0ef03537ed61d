"""The built-in tax engine: picks rows of the rule table, never branches on a country.

For each invoice, the engine
1. places the sale (customer country and subdivision, ISO 3166, else a TaxError);
2. takes the rows in force on the tax date along the jurisdiction chain (subdivision, its
   parents, the country); per slot the most specific jurisdiction with rows wins, so a
   province's HST replaces the national GST and an excluded territory overrides its country;
3. within a slot, keeps the rows whose conditions (seller domestic/foreign, customer
   business/individual, a valid tax ID, an exemption certificate) hold and takes the most
   specific one;
4. turns a charging row into `not_collecting` when the seller holds none of its
   registrations, and rounds as the row says: `group` (EN 16931 BR-CO-17), `line` or `invoice`.

A place the table has no rows for is refused (`tax_jurisdiction_unsupported`) when the seller
is registered there; when it is not (a German seller's SaaS sold to Norway or Singapore), the
supply is taxed where the customer is and the seller has nothing to collect: one
`not_collecting` line at 0 %, EN 16931 category G (export) or O, and a note saying why.
"""

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from billing.money import quantum, round_money
from billing.tax.engine import Seller, TaxError, TaxResult
from billing.tax.location import (
    EU_MEMBER_STATES,
    Location,
    customer_location,
    known_country,
    same_vat_area,
)
from billing.tax.rules import (
    Rounding,
    TaxRule,
    packaged_rules,
    rate_percent,
    rules_in_force,
    subdivision_required,
)
from billing.tax.tax_ids import TaxIdCheck, check_tax_id
from schemas.customer import Customer
from schemas.invoice import Invoice, InvoiceLine, TaxLine

ENGINE_NAME = "q2c-builtin"
GROUP_LINE_ID = "invoice"
NOT_REGISTERED_RULE_ID = "NOT-REGISTERED"
EXPORT_NOTE_EU = "Export outside the EU"
_DIRECTIVE = "https://eur-lex.europa.eu/eli/dir/2006/112/oj"
_OECD_GUIDELINES = "https://www.oecd.org/tax/consumption/international-vat-gst-guidelines.htm"


def tax_date(invoice: Invoice) -> date:
    """The tax point of a billed period: its last day (continuous supplies are taxed when
    each period ends), or the start when the period is a single day."""
    if invoice.period_end > invoice.period_start:
        return invoice.period_end - timedelta(days=1)
    return invoice.period_start


class RuleTableEngine:
    """`TaxEngine` over a rule table (the packaged rules.csv unless one is given)."""

    def __init__(
        self,
        *,
        rules: Sequence[TaxRule] | None = None,
        rounding: Mapping[str, Literal["line", "invoice"]] | None = None,
    ) -> None:
        self._rules = tuple(rules) if rules is not None else None
        # Per jurisdiction key (US-NY) or country (US): item or invoice basis for taxes
        # that allow a choice; EU and UK VAT always round per group (BR-CO-17).
        self._rounding = dict(rounding or {})
        for key, basis in self._rounding.items():
            if basis not in ("line", "invoice"):
                raise ValueError(f"rounding[{key!r}]: {basis!r} is not 'line' or 'invoice'")

    @property
    def rules(self) -> tuple[TaxRule, ...]:
        return self._rules if self._rules is not None else packaged_rules()

    async def compute(self, invoice: Invoice, *, seller: Seller, customer: Customer) -> TaxResult:
        """The `TaxEngine` call: the rule table needs no I/O, so it answers at once."""
        return self.evaluate(invoice, seller=seller, customer=customer)

    def evaluate(self, invoice: Invoice, *, seller: Seller, customer: Customer) -> TaxResult:
        """The tax lines of `invoice`, chosen from the rule table (pure and synchronous)."""
        if not known_country(seller.country):
            raise TaxError("seller_invalid", f"seller.country: {seller.country!r} is unknown")
        on = tax_date(invoice)
        location = customer_location(customer)
        tax_id = _customer_tax_id(customer, location)
        choice = self._choose(location, on, seller=seller, customer=customer, tax_id=tax_id)
        if choice is None:
            return not_registered(invoice, location, on, seller=seller)
        chosen, uncertain = choice
        lines: list[TaxLine] = []
        notes: list[str] = []
        for rule in chosen:
            collecting = rule.taxability_reason != "standard_rated" or seller.collects(
                rule.registration
            )
            lines.extend(self._tax_lines(invoice, rule, collecting=collecting, customer=customer))
            if collecting and rule.invoice_note and rule.invoice_note not in notes:
                notes.append(rule.invoice_note)
        return TaxResult(
            tax_lines=lines,
            notes=notes,
            uncertain=bool(uncertain),
            uncertain_reasons=uncertain,
            tax_date=on,
            engine=ENGINE_NAME,
        )

    def _choose(
        self,
        location: Location,
        on: date,
        *,
        seller: Seller,
        customer: Customer,
        tax_id: TaxIdCheck | None,
    ) -> tuple[list[TaxRule], list[str]] | None:
        """The rules that apply and the reasons to look, or None when the table has no rows
        for the place and the seller holds no registration there."""
        in_force = rules_in_force(self.rules, on)
        if not location.subdivision and subdivision_required(in_force, location.country):
            raise TaxError(
                "subdivision_required",
                f"customer.address.subdivision: tax in {location.country} depends on the state "
                "or province, and the customer has none",
            )
        by_slot: dict[str, list[TaxRule]] = {}
        for key in reversed(location.chain):  # country first, so the subdivision overrides
            rows = [rule for rule in in_force if rule.jurisdiction_key == key]
            for slot in dict.fromkeys(rule.slot for rule in rows):
                by_slot[slot] = [rule for rule in rows if rule.slot == slot]
        if not by_slot:
            if not seller.collects(location.chain):
                return None
            where = location.subdivision or location.country
            raise TaxError(
                "tax_jurisdiction_unsupported",
                f"no tax rule covers {where} on {on.isoformat()}, where the seller is "
                "registered: use an external engine or add rows to the rule table",
            )
        chosen = [
            _best(rows, slot, on, location, seller=seller, customer=customer, tax_id=tax_id)
            for slot, rows in by_slot.items()
        ]
        uncertain = [
            reason
            for rows in by_slot.values()
            for reason in _missed_business_rules(
                rows, location, seller=seller, customer=customer, tax_id=tax_id
            )
        ]
        for rule in chosen:
            if rule.taxability_reason == "unsupported":
                raise TaxError(
                    "tax_jurisdiction_unsupported", f"{rule.description} (rule {rule.rule_id})"
                )
        return sorted(chosen, key=lambda rule: rule.level != "country"), uncertain

    def _basis(self, rule: TaxRule) -> Rounding:
        configured = self._rounding.get(rule.jurisdiction_key) or self._rounding.get(rule.country)
        if configured is None:
            return rule.rounding
        if rule.rounding == "group":
            raise TaxError(
                "tax_configuration",
                f"rounding for {rule.jurisdiction_key} is fixed per VAT group (EN 16931 "
                f"BR-CO-17); {configured!r} is not allowed",
            )
        return configured

    def _tax_lines(
        self, invoice: Invoice, rule: TaxRule, *, collecting: bool, customer: Customer
    ) -> list[TaxLine]:
        rate = rule.rate if collecting else Decimal(0)
        explanation = _explain(rule, collecting=collecting, customer=customer)
        fields = {
            "country": rule.country,
            "subdivision": rule.subdivision,
            "jurisdiction": rule.country if rule.level == "country" else rule.jurisdiction_key,
            "level": rule.level,
            "tax_type": rule.tax_type,
            "rate": rate,
            "taxability_reason": rule.taxability_reason if collecting else "not_collecting",
            "rule_id": rule.rule_id,
            "source": rule.source,
            "category_code": rule.category_code if collecting else "O",
            "explanation": explanation,
        }
        currency = invoice.currency
        basis = self._basis(rule)
        if not invoice.lines:
            return []
        if basis == "group":
            taxable = sum((_taxable(line, rule) for line in invoice.lines), Decimal(0))
            unrounded = taxable * rate
            return [
                TaxLine(
                    line_id=GROUP_LINE_ID,
                    line_ids=[line.line_id for line in invoice.lines],
                    taxable_amount=round_money(taxable, currency),
                    tax_amount=round_money(unrounded, currency),
                    unrounded_tax_amount=unrounded,
                    **fields,
                )
            ]
        unrounded_per_line = [_taxable(line, rule) * rate for line in invoice.lines]
        if basis == "line":
            rounded = [round_money(amount, currency) for amount in unrounded_per_line]
        else:
            rounded = allocate(unrounded_per_line, currency=currency)
        return [
            TaxLine(
                line_id=line.line_id,
                taxable_amount=round_money(_taxable(line, rule), currency),
                tax_amount=tax,
                unrounded_tax_amount=unrounded,
                **fields,
            )
            for line, tax, unrounded in zip(invoice.lines, rounded, unrounded_per_line, strict=True)
        ]


def not_registered(invoice: Invoice, location: Location, on: date, *, seller: Seller) -> TaxResult:
    """No tax where the seller holds no registration: the supply of a service is taxed where
    the customer is (Directive 2006/112/EC art. 44 for a business, art. 58 for a consumer of
    electronic services), so the customer's country taxes it, not the seller's. Category G
    (EN 16931: "Export outside the EU", VATEX-EU-G) when the customer is outside the
    seller's VAT area, else O (not subject to VAT)."""
    where = location.subdivision or location.country
    export = not same_vat_area(seller.country, location.country)
    seller_in_eu = seller.country.strip().upper() in EU_MEMBER_STATES
    if export and seller_in_eu:
        note = EXPORT_NOTE_EU
    elif export:
        note = f"Export: no {seller.country.upper()} tax charged"
    else:
        note = "Not subject to VAT"
    explanation = (
        f"{note}: the sale is taxed where the customer is ({where}), and the seller holds no "
        f"tax registration there, so it charges no tax"
    )
    if seller_in_eu:
        explanation += " (Directive 2006/112/EC art. 44 and 58)"
    lines = invoice.lines
    taxable = sum((line.amount for line in lines), Decimal(0))
    tax_lines = (
        [
            TaxLine(
                line_id=GROUP_LINE_ID,
                line_ids=[line.line_id for line in lines],
                country=location.country,
                jurisdiction=location.country,
                level="country",
                tax_type="vat",
                rate=Decimal(0),
                taxable_amount=round_money(taxable, invoice.currency),
                tax_amount=round_money(Decimal(0), invoice.currency),
                unrounded_tax_amount=Decimal(0),
                taxability_reason="not_collecting",
                rule_id=NOT_REGISTERED_RULE_ID,
                source=_DIRECTIVE if seller_in_eu else _OECD_GUIDELINES,
                category_code="G" if export else "O",
                explanation=explanation,
            )
        ]
        if lines
        else []
    )
    return TaxResult(tax_lines=tax_lines, notes=[note], tax_date=on, engine=ENGINE_NAME)


def allocate(amounts: Sequence[Decimal], *, currency: str) -> list[Decimal]:
    """Round each amount so that they add up to the rounded sum (invoice basis).

    Each amount is rounded half-up, then the cents still owed to (or by) the total go to
    the amounts that rounding moved furthest, one minor unit each.
    """
    step = quantum(currency)
    rounded = [round_money(amount, currency) for amount in amounts]
    target = round_money(sum(amounts, Decimal(0)), currency)
    missing = int((target - sum(rounded, Decimal(0))) / step)
    if missing:
        direction = 1 if missing > 0 else -1
        order = sorted(
            range(len(amounts)),
            key=lambda index: (amounts[index] - rounded[index]) * direction,
            reverse=True,
        )
        for index in order[: abs(missing)]:
            rounded[index] += step * direction
    return rounded


def _taxable(line: InvoiceLine, rule: TaxRule) -> Decimal:
    return line.amount * rule.taxable_fraction


def _customer_tax_id(customer: Customer, location: Location) -> TaxIdCheck | None:
    if not customer.tax_id.strip():
        return None
    check = check_tax_id(customer.tax_id, country=location.country)
    if check is not None and not check.valid:
        raise TaxError(check.code, f"customer.tax_id: {check.message}")
    return check


def _holds(
    rule: TaxRule,
    location: Location,
    *,
    seller: Seller,
    customer: Customer,
    tax_id: TaxIdCheck | None,
    ignore_tax_id: bool = False,
) -> bool:
    domestic = seller.country.upper() == location.country
    if rule.seller_location == "domestic" and not domestic:
        return False
    if rule.seller_location == "foreign" and domestic:
        return False
    if rule.customer_type != "any" and rule.customer_type != customer.customer_type:
        return False
    if rule.requires == "exemption_certificate":
        return bool(customer.exemption_certificate.strip())
    if rule.requires == "tax_id" and not ignore_tax_id:
        return _tax_id_counts(tax_id, location)
    return True


def _tax_id_counts(tax_id: TaxIdCheck | None, location: Location) -> bool:
    return tax_id is not None and tax_id.valid and tax_id.issuing_country == location.country


def _best(
    rows: list[TaxRule],
    slot: str,
    on: date,
    location: Location,
    *,
    seller: Seller,
    customer: Customer,
    tax_id: TaxIdCheck | None,
) -> TaxRule:
    matching = [
        rule
        for rule in rows
        if _holds(rule, location, seller=seller, customer=customer, tax_id=tax_id)
    ]
    where = location.subdivision or location.country
    if not matching:
        raise TaxError(
            "tax_rule_missing",
            f"no {slot} rule for {where} on {on.isoformat()} fits this customer",
        )
    top = max(rule.specificity for rule in matching)
    best = [rule for rule in matching if rule.specificity == top]
    if len(best) > 1:
        ids = ", ".join(rule.rule_id for rule in best)
        raise TaxError("tax_rule_ambiguous", f"rules {ids} all fit the sale into {where}")
    return best[0]


def _missed_business_rules(
    rows: list[TaxRule],
    location: Location,
    *,
    seller: Seller,
    customer: Customer,
    tax_id: TaxIdCheck | None,
) -> list[str]:
    """Why a person should look: a tax-ID rule would have applied had the ID been valid here."""
    reasons: list[str] = []
    for rule in rows:
        if rule.requires != "tax_id" or _tax_id_counts(tax_id, location):
            continue
        if not _holds(
            rule, location, seller=seller, customer=customer, tax_id=tax_id, ignore_tax_id=True
        ):
            continue
        if tax_id is None:
            why = f"the customer gave no tax ID for {location.country}"
        else:
            why = f"customer.tax_id is issued in {tax_id.issuing_country}, not {location.country}"
        reasons.append(f"{rule.rule_id} not applied: {why}; taxed as a sale to a consumer")
    return reasons


def _explain(rule: TaxRule, *, collecting: bool, customer: Customer) -> str:
    if not collecting:
        return (
            f"{rule.description}; the seller holds none of the registrations "
            f"{' or '.join(rule.registration)}, so it does not collect this tax"
        )
    text = f"{rule.description} ({rate_percent(rule.rate)}"
    if rule.taxable_fraction != 1:
        text += f" on {rate_percent(rule.taxable_fraction)} of the amount"
    text += ")"
    if rule.requires == "exemption_certificate":
        text += f"; certificate {customer.exemption_certificate.strip()}"
    return text
