"""A `Document` as UN/CEFACT CII D16B in the Factur-X / ZUGFeRD EN 16931 profile.

Elements follow the order of the Factur-X EN 16931 schema (the `factur-x` package checks the
result against it when it embeds the XML in the PDF).
"""

from datetime import date
from decimal import Decimal
from typing import Any

from lxml import etree

from billing.einvoice.document import (
    FACTURX_EN16931_GUIDELINE,
    Allowance,
    Document,
    Line,
    Party,
    VatBreakdown,
    written_rate,
)

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"


def _el(parent: Any, namespace: str, name: str, text: str | None = None, **attrs: str) -> Any:
    element = etree.SubElement(parent, f"{{{namespace}}}{name}", attrs)
    if text is not None:
        element.text = text
    return element


def _ram(parent: Any, name: str, text: str | None = None, **attrs: str) -> Any:
    return _el(parent, RAM, name, text, **attrs)


def _date(parent: Any, name: str, day: date, namespace: str = UDT) -> None:
    _el(_ram(parent, name), namespace, "DateTimeString", day.strftime("%Y%m%d"), format="102")


def render_cii(document: Document) -> bytes:
    root = etree.Element(
        f"{{{RSM}}}CrossIndustryInvoice",
        nsmap={"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT},
    )
    context = _el(root, RSM, "ExchangedDocumentContext")
    _ram(
        _ram(context, "GuidelineSpecifiedDocumentContextParameter"), "ID", FACTURX_EN16931_GUIDELINE
    )
    header = _el(root, RSM, "ExchangedDocument")
    _ram(header, "ID", document.number)
    _ram(header, "TypeCode", document.type_code)
    _date(header, "IssueDateTime", document.issue_date)
    for note in document.notes:
        _ram(_ram(header, "IncludedNote"), "Content", note)
    transaction = _el(root, RSM, "SupplyChainTradeTransaction")
    for line in document.lines:
        _line(transaction, line, document)
    _agreement(transaction, document)
    delivery = _ram(transaction, "ApplicableHeaderTradeDelivery")
    if any(group.category == "K" for group in document.breakdown):
        address = _ram(_ram(delivery, "ShipToTradeParty"), "PostalTradeAddress")
        _ram(address, "CountryID", document.buyer.country)
    _settlement(transaction, document)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _line(transaction: Any, line: Line, document: Document) -> None:
    item = _ram(transaction, "IncludedSupplyChainTradeLineItem")
    _ram(_ram(item, "AssociatedDocumentLineDocument"), "LineID", line.line_id)
    _ram(_ram(item, "SpecifiedTradeProduct"), "Name", line.name)
    agreement = _ram(item, "SpecifiedLineTradeAgreement")
    _ram(_ram(agreement, "NetPriceProductTradePrice"), "ChargeAmount", format(line.price, "f"))
    _ram(
        _ram(item, "SpecifiedLineTradeDelivery"),
        "BilledQuantity",
        format(line.quantity, "f"),
        unitCode=line.unit,
    )
    settlement = _ram(item, "SpecifiedLineTradeSettlement")
    _category(_ram(settlement, "ApplicableTradeTax"), line.category, line.percent)
    if line.period is not None:
        _period(settlement, line.period.start, line.period.end)
    summation = _ram(settlement, "SpecifiedTradeSettlementLineMonetarySummation")
    _ram(summation, "LineTotalAmount", document.amount(line.net_amount))


def _category(tax: Any, category: str, percent: Decimal) -> None:
    _ram(tax, "TypeCode", "VAT")
    _ram(tax, "CategoryCode", category)
    rate = written_rate(category, percent)
    if rate is not None:
        _ram(tax, "RateApplicablePercent", rate)


def _period(parent: Any, start: date, end: date) -> None:
    period = _ram(parent, "BillingSpecifiedPeriod")
    _date(period, "StartDateTime", start)
    _date(period, "EndDateTime", end)


def _party(parent: Any, name: str, party: Party) -> None:
    element = _ram(parent, name)
    _ram(element, "Name", party.name)
    if party.legal_id:
        _ram(_ram(element, "SpecifiedLegalOrganization"), "ID", party.legal_id)
    if party.email or party.phone:
        contact = _ram(element, "DefinedTradeContact")
        if party.phone:
            _ram(_ram(contact, "TelephoneUniversalCommunication"), "CompleteNumber", party.phone)
        if party.email:
            _ram(_ram(contact, "EmailURIUniversalCommunication"), "URIID", party.email)
    address = _ram(element, "PostalTradeAddress")
    if party.postal_code:
        _ram(address, "PostcodeCode", party.postal_code)
    if party.street:
        _ram(address, "LineOne", party.street)
    if party.city:
        _ram(address, "CityName", party.city)
    _ram(address, "CountryID", party.country)
    if party.subdivision:
        _ram(address, "CountrySubDivisionName", party.subdivision)
    if party.electronic_address:
        communication = _ram(element, "URIUniversalCommunication")
        _ram(communication, "URIID", party.electronic_address, schemeID=party.electronic_scheme)
    if party.vat_id:
        _ram(_ram(element, "SpecifiedTaxRegistration"), "ID", party.vat_id, schemeID="VA")


def _agreement(transaction: Any, document: Document) -> None:
    agreement = _ram(transaction, "ApplicableHeaderTradeAgreement")
    if document.buyer_reference:
        _ram(agreement, "BuyerReference", document.buyer_reference)
    _party(agreement, "SellerTradeParty", document.seller)
    _party(agreement, "BuyerTradeParty", document.buyer)
    if document.order_reference:
        _ram(
            _ram(agreement, "BuyerOrderReferencedDocument"),
            "IssuerAssignedID",
            document.order_reference,
        )
    if document.contract_reference:
        reference = _ram(agreement, "ContractReferencedDocument")
        _ram(reference, "IssuerAssignedID", document.contract_reference)


def _settlement(transaction: Any, document: Document) -> None:
    settlement = _ram(transaction, "ApplicableHeaderTradeSettlement")
    means = document.payment_means
    if means is not None and not document.is_credit_note:
        _ram(settlement, "PaymentReference", means.remittance)
    _ram(settlement, "InvoiceCurrencyCode", document.currency)
    if means is not None and not document.is_credit_note:
        element = _ram(settlement, "SpecifiedTradeSettlementPaymentMeans")
        _ram(element, "TypeCode", means.code)
        account = _ram(element, "PayeePartyCreditorFinancialAccount")
        _ram(account, "IBANID", means.iban)
        _ram(account, "AccountName", document.seller.name)
        if means.bic:
            _ram(_ram(element, "PayeeSpecifiedCreditorFinancialInstitution"), "BICID", means.bic)
    for group in document.breakdown:
        _breakdown(settlement, group, document)
    _period(settlement, document.period.start, document.period.end)
    for allowance in document.allowances:
        _allowance(settlement, allowance, document)
    terms = _ram(settlement, "SpecifiedTradePaymentTerms")
    _ram(terms, "Description", document.payment_terms)
    if document.due_date is not None:
        _date(terms, "DueDateDateTime", document.due_date)
    totals = document.totals
    summation = _ram(settlement, "SpecifiedTradeSettlementHeaderMonetarySummation")
    _ram(summation, "LineTotalAmount", document.amount(totals.line_total))
    if document.allowances:
        _ram(summation, "AllowanceTotalAmount", document.amount(totals.allowance_total))
    _ram(summation, "TaxBasisTotalAmount", document.amount(totals.tax_exclusive))
    _ram(
        summation, "TaxTotalAmount", document.amount(totals.tax_total), currencyID=document.currency
    )
    _ram(summation, "GrandTotalAmount", document.amount(totals.tax_inclusive))
    _ram(summation, "DuePayableAmount", document.amount(totals.payable))
    if document.preceding_invoice:
        reference = _ram(settlement, "InvoiceReferencedDocument")
        _ram(reference, "IssuerAssignedID", document.preceding_invoice)
        if document.preceding_invoice_date is not None:
            _date(reference, "FormattedIssueDateTime", document.preceding_invoice_date, QDT)


def _breakdown(settlement: Any, group: VatBreakdown, document: Document) -> None:
    tax = _ram(settlement, "ApplicableTradeTax")
    _ram(tax, "CalculatedAmount", document.amount(group.tax_amount))
    _ram(tax, "TypeCode", "VAT")
    if group.exemption_reason:
        _ram(tax, "ExemptionReason", group.exemption_reason)
    _ram(tax, "BasisAmount", document.amount(group.taxable_amount))
    _ram(tax, "CategoryCode", group.category)
    if group.exemption_code:
        _ram(tax, "ExemptionReasonCode", group.exemption_code)
    rate = written_rate(group.category, group.percent)
    if rate is not None:
        _ram(tax, "RateApplicablePercent", rate)


def _allowance(settlement: Any, allowance: Allowance, document: Document) -> None:
    element = _ram(settlement, "SpecifiedTradeAllowanceCharge")
    _el(_ram(element, "ChargeIndicator"), UDT, "Indicator", "false")
    _ram(element, "ActualAmount", document.amount(allowance.amount))
    _ram(element, "ReasonCode", allowance.reason_code)
    _ram(element, "Reason", allowance.reason)
    tax = _ram(element, "CategoryTradeTax")
    _category(tax, allowance.category, allowance.percent)
