"""A posted q2c document (invoice or credit note) as an EN 16931 `Document`.

Pure: the taxed invoice, the seller, the customer and the contract's terms in, the document out.
What a category or the standard needs and the input lacks raises `EInvoiceError` naming the
field and the rule, before anything is written. Discount lines become document-level
allowances (BG-20); every other line an invoice line (BG-25) with its service period.
"""

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from stdnum import bic as bic_number
from stdnum import iban as iban_number

from billing.einvoice.categories import covers, exemption, line_category
from billing.einvoice.document import (
    CREDIT_NOTE_TYPE,
    INVOICE_TYPE,
    Allowance,
    Document,
    Line,
    Party,
    PaymentMeans,
    Period,
    Totals,
    VatBreakdown,
    VatCategory,
)
from billing.einvoice.errors import EInvoiceError
from billing.money import round_money
from billing.tax.engine import Seller
from billing.tax.location import known_country, same_vat_area
from schemas.contract import DocumentTerms
from schemas.customer import Customer
from schemas.invoice import Invoice, InvoiceLine, TaxLine
from schemas.money import minor_unit

_SELLER_VAT_RULE: dict[str, str] = {
    "S": "BR-S-02",
    "Z": "BR-Z-02",
    "E": "BR-E-02",
    "AE": "BR-AE-02",
    "K": "BR-IC-02",
    "G": "BR-G-02",
    "L": "BR-AF-02",
    "M": "BR-AG-02",
}
_Group = tuple[VatCategory, Decimal]


def build_document(
    invoice: Invoice,
    *,
    number: str,
    issue_date: date,
    seller: Seller,
    customer: Customer,
    terms: DocumentTerms | None = None,
    preceding_invoice: str = "",
    preceding_invoice_date: date | None = None,
) -> Document:
    """`number` is the ERP's document number (BT-1); `preceding_invoice` the number of the
    invoice a credit note corrects (BT-25). Raises `EInvoiceError`."""
    if not number.strip():
        raise EInvoiceError("number", "BR-02", "the document needs its number (the ERP's)")
    digits = minor_unit(invoice.currency)
    if digits > 2:
        raise EInvoiceError(
            "invoice.currency",
            "BR-DEC-09",
            f"{invoice.currency} has {digits} decimals; EN 16931 amounts allow at most 2",
        )
    if not invoice.lines:
        raise EInvoiceError("invoice.lines", "BR-16", "a document needs at least one line")
    buyer_country = _buyer_country(customer)
    export = not same_vat_area(seller.country, buyer_country)
    lines: list[Line] = []
    allowances: list[Allowance] = []
    group_of: dict[str, _Group] = {}
    for index, item in enumerate(invoice.lines):
        taxes = [tax for tax in invoice.tax_lines if covers(tax, item.line_id)]
        if not taxes:
            raise EInvoiceError(
                f"invoice.lines.{index}",
                "BR-CO-04",
                f"line {item.line_id} has no tax line: each line needs a VAT category",
            )
        try:
            category, percent = line_category(item, taxes, export=export)
        except ValueError as error:
            raise EInvoiceError(f"invoice.lines.{index}", "BR-CO-04", str(error)) from None
        group_of[item.line_id] = (category, percent)
        if item.charge_model == "discount" and item.amount <= 0:
            if item.amount:
                allowances.append(
                    Allowance(
                        amount=-item.amount,
                        reason=item.description,
                        category=category,
                        percent=percent,
                    )
                )
            continue
        lines.append(_line(item, len(lines) + 1, category, percent, invoice.currency))
    if not lines:
        raise EInvoiceError("invoice.lines", "BR-16", "a document needs at least one line")
    categories = {category for category, _ in group_of.values()}
    _check_parties(categories, seller=seller, customer=customer)
    breakdown = _breakdown(invoice, group_of, lines, allowances)
    totals = _totals(invoice, lines, allowances, breakdown)
    credit_note = invoice.document_type == "credit_note"
    terms = terms or DocumentTerms()
    due_date = None if credit_note else issue_date + timedelta(days=terms.payment_terms_days)
    return Document(
        number=number.strip(),
        type_code=CREDIT_NOTE_TYPE if credit_note else INVOICE_TYPE,
        issue_date=issue_date,
        due_date=due_date,
        currency=invoice.currency,
        buyer_reference=terms.buyer_reference,
        order_reference=terms.purchase_order,
        contract_reference=invoice.contract_id,
        preceding_invoice=preceding_invoice.strip(),
        preceding_invoice_date=preceding_invoice_date,
        notes=list(dict.fromkeys(invoice.notes)),
        period=_period(invoice.period_start, invoice.period_end),
        seller=_seller_party(seller, categories),
        buyer=_buyer_party(customer, buyer_country, categories),
        payment_means=_payment_means(seller, invoice.currency, number.strip()),
        payment_terms=_payment_terms(terms.payment_terms_days, due_date),
        lines=lines,
        allowances=allowances,
        breakdown=breakdown,
        totals=totals,
    )


def _buyer_country(customer: Customer) -> str:
    address = customer.address
    if address is None or not address.country.strip():
        raise EInvoiceError(
            "customer.address.country", "BR-11", "the buyer's address needs a country"
        )
    country = address.country.strip().upper()
    if not known_country(country):
        raise EInvoiceError(
            "customer.address.country", "BR-11", f"{address.country!r} is not ISO 3166-1"
        )
    for field in ("line1", "city"):
        if not getattr(address, field).strip():
            raise EInvoiceError(
                f"customer.address.{field}",
                "Directive 2006/112/EC art. 226(5)",
                "an invoice names the customer's full address",
            )
    return country


def _period(start: date, end: date) -> Period:
    """A half-open q2c period as EN 16931's inclusive one (a milestone: its one day)."""
    return Period(start=start, end=end - timedelta(days=1) if end > start else start)


def _line(
    item: InvoiceLine, position: int, category: VatCategory, percent: Decimal, currency: str
) -> Line:
    quantity, price = Decimal(1), abs(item.amount)
    if item.amount < 0:
        quantity = Decimal(-1)
    elif (
        item.quantity is not None
        and item.unit_amount is not None
        and item.quantity > 0
        and item.unit_amount >= 0
        and round_money(item.quantity * item.unit_amount, currency) == item.amount
    ):
        # The metered quantity and unit price reproduce the amount exactly: show them.
        quantity, price = item.quantity, item.unit_amount
    period = None
    if item.period_start is not None and item.period_end is not None:
        period = _period(item.period_start, item.period_end)
    return Line(
        line_id=str(position),
        name=item.description,
        quantity=quantity.normalize(),
        price=price,
        net_amount=item.amount,
        period=period,
        category=category,
        percent=percent,
        shown_quantity="" if item.quantity is None else format(item.quantity.normalize(), "f"),
        rule=item.rule,
    )


def _vat_id(raw: str) -> str:
    return "".join(raw.split()).replace(".", "").replace("-", "").upper()


def _has_country_prefix(vat_id: str) -> bool:
    return (
        len(vat_id) > 2
        and vat_id[:2].isalpha()
        and (known_country(vat_id[:2]) or vat_id[:2] == "EL")
    )


def _check_parties(categories: set[VatCategory], *, seller: Seller, customer: Customer) -> None:
    if "O" in categories and len(categories) > 1:
        others = ", ".join(sorted(categories - {"O"}))
        raise EInvoiceError(
            "invoice.tax_lines",
            "BR-O-11",
            f"a line not subject to VAT (O) cannot share a document with {others}",
        )
    if not known_country(seller.country.strip().upper()):
        raise EInvoiceError("seller.country", "BR-09", f"{seller.country!r} is not ISO 3166-1")
    seller_vat = _vat_id(seller.tax_id)
    for category in sorted(categories):
        rule = _SELLER_VAT_RULE.get(category)
        if rule is None:
            continue
        if not seller_vat:
            raise EInvoiceError(
                "seller.tax_id", rule, f"category {category} needs the seller's VAT id"
            )
        if not _has_country_prefix(seller_vat):
            raise EInvoiceError(
                "seller.tax_id", "BR-CO-09", f"{seller.tax_id!r} lacks its country prefix"
            )
    if ("AE" in categories or "K" in categories) and not _vat_id(customer.tax_id):
        rule = "BR-AE-02" if "AE" in categories else "BR-IC-02"
        raise EInvoiceError(
            "customer.tax_id",
            rule,
            "a reverse-charge or intra-community sale needs the buyer's VAT id",
        )
    if "K" in categories and not _has_country_prefix(_vat_id(customer.tax_id)):
        raise EInvoiceError("customer.tax_id", "BR-IC-02", "the buyer's VAT id needs its prefix")


def _seller_party(seller: Seller, categories: set[VatCategory]) -> Party:
    scheme, address = "EM", seller.email.strip()
    if seller.electronic_address.strip():
        scheme, _, address = seller.electronic_address.strip().partition(":")
        if not address:
            raise EInvoiceError(
                "seller.electronic_address", "BR-62", "write it as scheme:value (9930:DE...)"
            )
    return Party(
        name=seller.name,
        street=seller.street,
        city=seller.city,
        postal_code=seller.postal_code,
        country=seller.country.strip().upper(),
        subdivision=seller.subdivision,
        # BR-O-02: a document not subject to VAT carries no VAT id at all.
        vat_id="" if categories == {"O"} else _vat_id(seller.tax_id),
        legal_id=seller.legal_registration,
        electronic_address=address,
        electronic_scheme=scheme if address else "",
        email=seller.email,
        phone=seller.phone,
    )


def _buyer_party(customer: Customer, country: str, categories: set[VatCategory]) -> Party:
    assert customer.address is not None  # checked by _buyer_country
    tax_id = _vat_id(customer.tax_id)
    vat_id, legal_id = "", ""
    if tax_id and categories != {"O"}:
        if _has_country_prefix(tax_id):
            vat_id = tax_id
        else:  # an ABN, an EIN or a business number: a legal id, not a VAT id (BR-CO-09)
            legal_id = customer.tax_id.strip()
    email = customer.email.strip()
    return Party(
        name=customer.name,
        street=customer.address.line1,
        city=customer.address.city,
        postal_code=customer.address.postal_code,
        country=country,
        subdivision=customer.address.subdivision,
        vat_id=vat_id,
        legal_id=legal_id,
        electronic_address=email,
        electronic_scheme="EM" if email else "",
        email=email,
    )


def _breakdown(
    invoice: Invoice,
    group_of: dict[str, _Group],
    lines: Sequence[Line],
    allowances: Sequence[Allowance],
) -> list[VatBreakdown]:
    taxable: dict[_Group, Decimal] = {}
    for line in lines:
        key = (line.category, line.percent)
        taxable[key] = taxable.get(key, Decimal(0)) + line.net_amount
    for allowance in allowances:
        key = (allowance.category, allowance.percent)
        taxable[key] = taxable.get(key, Decimal(0)) - allowance.amount
    tax: dict[_Group, Decimal] = dict.fromkeys(taxable, Decimal(0))
    taxes_of: dict[_Group, list[TaxLine]] = {key: [] for key in taxable}
    for index, tax_line in enumerate(invoice.tax_lines):
        groups = {group_of[line_id] for line_id in group_of if covers(tax_line, line_id)}
        if len(groups) != 1:
            raise EInvoiceError(
                f"invoice.tax_lines.{index}",
                "BR-CO-14",
                "a tax line must cover lines of one VAT category and rate"
                if groups
                else "the tax line names no line of the document",
            )
        (key,) = groups
        tax[key] += tax_line.tax_amount
        taxes_of[key].append(tax_line)
    breakdown: list[VatBreakdown] = []
    for key in sorted(taxable, key=lambda group: (group[0] != "S", group[0], -group[1])):
        category, percent = key
        code, reason = exemption(category, taxes_of[key])
        breakdown.append(
            VatBreakdown(
                category=category,
                percent=percent,
                taxable_amount=round_money(taxable[key], invoice.currency),
                tax_amount=round_money(tax[key], invoice.currency),
                exemption_code=code,
                exemption_reason=reason,
            )
        )
    return breakdown


def _totals(
    invoice: Invoice,
    lines: Sequence[Line],
    allowances: Sequence[Allowance],
    breakdown: Sequence[VatBreakdown],
) -> Totals:
    line_total = sum((line.net_amount for line in lines), Decimal(0))
    allowance_total = sum((allowance.amount for allowance in allowances), Decimal(0))
    tax_exclusive = line_total - allowance_total
    tax_total = sum((group.tax_amount for group in breakdown), Decimal(0))
    for field, rule, ours, theirs in (
        ("invoice.subtotal", "BR-CO-13", tax_exclusive, invoice.subtotal),
        ("invoice.tax_total", "BR-CO-14", tax_total, invoice.tax_total),
        ("invoice.total", "BR-CO-15", tax_exclusive + tax_total, invoice.total),
    ):
        if ours != theirs:
            raise EInvoiceError(field, rule, f"{theirs} differs from the lines' {ours}")
    return Totals(
        line_total=line_total,
        allowance_total=allowance_total,
        tax_exclusive=tax_exclusive,
        tax_total=tax_total,
        tax_inclusive=tax_exclusive + tax_total,
        payable=tax_exclusive + tax_total,
    )


def _payment_means(seller: Seller, currency: str, number: str) -> PaymentMeans | None:
    if not seller.iban.strip():
        return None
    iban = "".join(seller.iban.split()).upper()
    if not iban_number.is_valid(iban):
        raise EInvoiceError("seller.iban", "ISO 13616", f"{seller.iban!r} is not a valid IBAN")
    bic = "".join(seller.bic.split()).upper()
    if bic and not bic_number.is_valid(bic):
        raise EInvoiceError("seller.bic", "ISO 9362", f"{seller.bic!r} is not a valid BIC")
    return PaymentMeans(
        code="58" if currency == "EUR" else "30",
        iban=iban,
        bic=bic,
        bank_name=seller.bank_name,
        remittance=number,
    )


def _payment_terms(days: int, due_date: date | None) -> str:
    if due_date is None:
        return "Nothing to pay: the amount is credited to your account."
    when = due_date.strftime("%d %B %Y").lstrip("0")
    if days == 0:
        return f"Payable on receipt, by {when}."
    return f"Net {days} days: payable by {when}."
