"""A `Document` as a UBL 2.1 Invoice or CreditNote, Peppol BIS Billing 3.0.

Elements are written in the order the UBL 2.1 schema sets; the mapping follows the Peppol
BIS Billing 3.0 syntax binding (docs.peppol.eu/poacc/billing/3.0).
"""

from datetime import date
from decimal import Decimal
from typing import Any

from lxml import etree

from billing.einvoice.document import (
    CUSTOMIZATION_ID,
    PROFILE_ID,
    Allowance,
    Document,
    Line,
    Party,
    VatBreakdown,
    written_rate,
)

INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"


def _cbc(parent: Any, name: str, text: str | None = None, **attributes: str) -> Any:
    element = etree.SubElement(parent, f"{{{CBC}}}{name}", attributes)
    if text is not None:
        element.text = text
    return element


def _cac(parent: Any, name: str) -> Any:
    return etree.SubElement(parent, f"{{{CAC}}}{name}")


def render_ubl(document: Document) -> bytes:
    credit = document.is_credit_note
    namespace = CREDIT_NOTE_NS if credit else INVOICE_NS
    root = etree.Element(
        f"{{{namespace}}}{'CreditNote' if credit else 'Invoice'}",
        nsmap={None: namespace, "cac": CAC, "cbc": CBC},
    )
    amount = _amounts(document)
    _cbc(root, "CustomizationID", CUSTOMIZATION_ID)
    _cbc(root, "ProfileID", PROFILE_ID)
    _cbc(root, "ID", document.number)
    _cbc(root, "IssueDate", document.issue_date.isoformat())
    if document.due_date is not None and not credit:
        _cbc(root, "DueDate", document.due_date.isoformat())
    _cbc(root, "CreditNoteTypeCode" if credit else "InvoiceTypeCode", document.type_code)
    for note in document.notes:
        _cbc(root, "Note", note)
    _cbc(root, "DocumentCurrencyCode", document.currency)
    if document.buyer_reference:
        _cbc(root, "BuyerReference", document.buyer_reference)
    _period(root, document.period.start, document.period.end)
    if document.order_reference:
        _cbc(_cac(root, "OrderReference"), "ID", document.order_reference)
    if document.preceding_invoice:
        reference = _cac(_cac(root, "BillingReference"), "InvoiceDocumentReference")
        _cbc(reference, "ID", document.preceding_invoice)
        if document.preceding_invoice_date is not None:
            _cbc(reference, "IssueDate", document.preceding_invoice_date.isoformat())
    if document.contract_reference:
        _cbc(_cac(root, "ContractDocumentReference"), "ID", document.contract_reference)
    _party(_cac(root, "AccountingSupplierParty"), document.seller)
    _party(_cac(root, "AccountingCustomerParty"), document.buyer)
    if any(group.category == "K" for group in document.breakdown):
        location = _cac(_cac(root, "Delivery"), "DeliveryLocation")
        country = _cac(_cac(location, "Address"), "Country")
        _cbc(country, "IdentificationCode", document.buyer.country)
    means = document.payment_means
    if means is not None and not credit:
        element = _cac(root, "PaymentMeans")
        _cbc(element, "PaymentMeansCode", means.code)
        _cbc(element, "PaymentID", means.remittance)
        account = _cac(element, "PayeeFinancialAccount")
        _cbc(account, "ID", means.iban)
        _cbc(account, "Name", document.seller.name)
        if means.bic:
            _cbc(_cac(account, "FinancialInstitutionBranch"), "ID", means.bic)
    _cbc(_cac(root, "PaymentTerms"), "Note", document.payment_terms)
    for allowance in document.allowances:
        _allowance(root, allowance, amount)
    _tax_total(root, document.breakdown, document.totals.tax_total, amount)
    totals = _cac(root, "LegalMonetaryTotal")
    _cbc(totals, "LineExtensionAmount", **amount(document.totals.line_total))
    _cbc(totals, "TaxExclusiveAmount", **amount(document.totals.tax_exclusive))
    _cbc(totals, "TaxInclusiveAmount", **amount(document.totals.tax_inclusive))
    if document.allowances:
        _cbc(totals, "AllowanceTotalAmount", **amount(document.totals.allowance_total))
    _cbc(totals, "PayableAmount", **amount(document.totals.payable))
    for line in document.lines:
        _line(root, line, amount, currency=document.currency, credit=credit)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _amounts(document: Document) -> Any:
    def amount(value: Decimal) -> dict[str, str]:
        return {"text": document.amount(value), "currencyID": document.currency}

    return amount


def _period(parent: Any, start: date, end: date) -> None:
    period = _cac(parent, "InvoicePeriod")
    _cbc(period, "StartDate", start.isoformat())
    _cbc(period, "EndDate", end.isoformat())


def _party(wrapper: Any, party: Party) -> None:
    element = _cac(wrapper, "Party")
    if party.electronic_address:
        _cbc(element, "EndpointID", party.electronic_address, schemeID=party.electronic_scheme)
    _cbc(_cac(element, "PartyName"), "Name", party.name)
    address = _cac(element, "PostalAddress")
    if party.street:
        _cbc(address, "StreetName", party.street)
    if party.city:
        _cbc(address, "CityName", party.city)
    if party.postal_code:
        _cbc(address, "PostalZone", party.postal_code)
    if party.subdivision:
        _cbc(address, "CountrySubentity", party.subdivision)
    _cbc(_cac(address, "Country"), "IdentificationCode", party.country)
    if party.vat_id:
        scheme = _cac(element, "PartyTaxScheme")
        _cbc(scheme, "CompanyID", party.vat_id)
        _cbc(_cac(scheme, "TaxScheme"), "ID", "VAT")
    legal = _cac(element, "PartyLegalEntity")
    _cbc(legal, "RegistrationName", party.name)
    if party.legal_id:
        _cbc(legal, "CompanyID", party.legal_id)
    if party.email or party.phone:
        contact = _cac(element, "Contact")
        if party.phone:
            _cbc(contact, "Telephone", party.phone)
        if party.email:
            _cbc(contact, "ElectronicMail", party.email)


def _category(parent: Any, name: str, category: str, percent: Decimal) -> Any:
    element = _cac(parent, name)
    _cbc(element, "ID", category)
    rate = written_rate(category, percent)
    if rate is not None:
        _cbc(element, "Percent", rate)
    return element


def _allowance(root: Any, allowance: Allowance, amount: Any) -> None:
    element = _cac(root, "AllowanceCharge")
    _cbc(element, "ChargeIndicator", "false")
    _cbc(element, "AllowanceChargeReasonCode", allowance.reason_code)
    _cbc(element, "AllowanceChargeReason", allowance.reason)
    _cbc(element, "Amount", **amount(allowance.amount))
    category = _category(element, "TaxCategory", allowance.category, allowance.percent)
    _cbc(_cac(category, "TaxScheme"), "ID", "VAT")


def _tax_total(root: Any, breakdown: list[VatBreakdown], total: Decimal, amount: Any) -> None:
    element = _cac(root, "TaxTotal")
    _cbc(element, "TaxAmount", **amount(total))
    for group in breakdown:
        subtotal = _cac(element, "TaxSubtotal")
        _cbc(subtotal, "TaxableAmount", **amount(group.taxable_amount))
        _cbc(subtotal, "TaxAmount", **amount(group.tax_amount))
        category = _category(subtotal, "TaxCategory", group.category, group.percent)
        if group.exemption_code:
            _cbc(category, "TaxExemptionReasonCode", group.exemption_code)
        if group.exemption_reason:
            _cbc(category, "TaxExemptionReason", group.exemption_reason)
        _cbc(_cac(category, "TaxScheme"), "ID", "VAT")


def _line(root: Any, line: Line, amount: Any, *, currency: str, credit: bool) -> None:
    element = _cac(root, "CreditNoteLine" if credit else "InvoiceLine")
    _cbc(element, "ID", line.line_id)
    quantity = format(line.quantity, "f")
    _cbc(
        element, "CreditedQuantity" if credit else "InvoicedQuantity", quantity, unitCode=line.unit
    )
    _cbc(element, "LineExtensionAmount", **amount(line.net_amount))
    if line.period is not None:
        _period(element, line.period.start, line.period.end)
    item = _cac(element, "Item")
    _cbc(item, "Name", line.name)
    category = _category(item, "ClassifiedTaxCategory", line.category, line.percent)
    _cbc(_cac(category, "TaxScheme"), "ID", "VAT")
    _cbc(_cac(element, "Price"), "PriceAmount", format(line.price, "f"), currencyID=currency)
