"""q2c's own documents pass the official rules, UBL and CII, for the sales it makes.

Expected figures are computed by hand in each test (19 % of 133.33 is 25.3327: 25.33);
expected categories and exemption codes come from EN 16931 (UNTDID 5305, the VATEX list).
"""

from datetime import date
from typing import Any

import pytest
from lxml import etree

from billing.einvoice import RenderedDocuments, render_documents
from schemas.contract import Contract
from schemas.customer import Customer
from schemas.invoice import Invoice
from tests.billing.einvoice.builders import (
    ISSUED,
    SELLER,
    customer,
    draft,
    line,
    taxed,
    vat_line,
    with_tax_lines,
)

NS = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
}
CONTRACT = Contract.model_validate(
    {
        "id": "C-1",
        "customer_id": "CU-1",
        "currency": "EUR",
        "plan": "growth",
        "start_date": "2026-01-01",
        "payment_terms_days": 14,
        "buyer_reference": "DEPT-42",
        "purchase_order": "PO-4711",
    }
)


def render(invoice: Invoice, who: Customer, **extra: Any) -> RenderedDocuments:
    rendered = render_documents(
        invoice, number="RE-2026-0001", issue_date=ISSUED, seller=SELLER, customer=who, **extra
    )
    assert rendered.ubl_report.fatal == [] and rendered.cii_report.fatal == []
    assert rendered.pdf.startswith(b"%PDF")
    return rendered


def ubl(rendered: RenderedDocuments, path: str) -> list[str]:
    return [str(value) for value in etree.fromstring(rendered.ubl).xpath(path, namespaces=NS)]


def cii(rendered: RenderedDocuments, path: str) -> list[str]:
    return [str(value) for value in etree.fromstring(rendered.cii).xpath(path, namespaces=NS)]


def breakdown(rendered: RenderedDocuments) -> list[tuple[str, ...]]:
    rows = etree.fromstring(rendered.ubl).xpath("//cac:TaxTotal/cac:TaxSubtotal", namespaces=NS)
    return [
        tuple(
            str(value)
            for value in row.xpath(
                "cbc:TaxableAmount/text() | cbc:TaxAmount/text() | cac:TaxCategory/cbc:ID/text()"
                " | cac:TaxCategory/cbc:Percent/text()"
                " | cac:TaxCategory/cbc:TaxExemptionReasonCode/text()",
                namespaces=NS,
            )
        )
        for row in rows
    ]


def test_german_domestic_19_percent() -> None:
    who = customer("DE", tax_id="DE136695976")
    rendered = render(
        taxed(draft(line("100.00", line_id="L1"), line("33.33", line_id="L2")), who),
        who,
        terms=CONTRACT.document_terms,
    )
    assert breakdown(rendered) == [("133.33", "25.33", "S", "19")]
    assert ubl(rendered, "//cac:LegalMonetaryTotal/cbc:PayableAmount/text()") == ["158.66"]
    # BT-9 from the contract's 14 days; BT-10 and BT-13 from the contract
    assert ubl(rendered, "/*/cbc:DueDate/text()") == ["2026-11-15"]
    assert ubl(rendered, "/*/cbc:BuyerReference/text()") == ["DEPT-42"]
    assert ubl(rendered, "/*/cac:OrderReference/cbc:ID/text()") == ["PO-4711"]
    # BG-14 and BG-26: October, inclusive
    assert ubl(rendered, "/*/cac:InvoicePeriod/cbc:*/text()") == ["2026-10-01", "2026-10-31"]
    assert ubl(rendered, "//cac:InvoiceLine[1]/cac:InvoicePeriod/cbc:EndDate/text()") == [
        "2026-10-31"
    ]
    assert cii(rendered, "//ram:DuePayableAmount/text()") == ["158.66"]
    assert ubl(rendered, "//cac:PayeeFinancialAccount/cbc:ID/text()") == ["DE89370400440532013000"]
    assert ubl(rendered, "//cbc:PaymentMeansCode/text()") == ["58"]


def test_net_30_when_the_contract_says_nothing() -> None:
    who = customer("DE")
    rendered = render(taxed(draft(line("10.00", line_id="L1")), who), who)
    assert ubl(rendered, "/*/cbc:DueDate/text()") == ["2026-12-01"]


def test_french_business_with_a_vat_id_is_reverse_charged() -> None:
    who = customer("FR", tax_id="FR40303265045")
    rendered = render(taxed(draft(line("1000.00", line_id="L1")), who), who)
    assert breakdown(rendered) == [("1000.00", "0.00", "AE", "0", "VATEX-EU-AE")]
    assert ubl(rendered, "//cbc:TaxExemptionReason/text()") == ["Reverse charge"]
    assert ubl(
        rendered, "//cac:AccountingCustomerParty//cac:PartyTaxScheme/cbc:CompanyID/text()"
    ) == ["FR40303265045"]
    assert cii(
        rendered,
        "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:ExemptionReasonCode/text()",
    ) == ["VATEX-EU-AE"]


@pytest.mark.parametrize(
    "who",
    [customer("NO", tax_id="NO974760673MVA"), customer("US", currency="USD")],
    ids=["norwegian-business", "us-buyer"],
)
def test_an_export_is_category_g(who: Customer) -> None:
    invoice = taxed(draft(line("250.00", line_id="L1"), currency=who.currency), who)
    rendered = render(invoice, who)
    assert breakdown(rendered) == [("250.00", "0.00", "G", "0", "VATEX-EU-G")]
    assert ubl(rendered, "//cbc:TaxExemptionReason/text()") == ["Export outside the EU"]
    assert cii(rendered, "//ram:GrandTotalAmount/text()") == ["250.00"]


def test_a_uk_business_is_reverse_charged() -> None:
    who = customer("GB", tax_id="GB980780684", currency="GBP")
    rendered = render(taxed(draft(line("80.00", line_id="L1"), currency="GBP"), who), who)
    assert breakdown(rendered) == [("80.00", "0.00", "AE", "0", "VATEX-EU-AE")]
    assert ubl(rendered, "/*/cbc:DocumentCurrencyCode/text()") == ["GBP"]


def test_a_uk_consumer_pays_uk_vat() -> None:
    who = customer("GB", currency="GBP", customer_type="individual")
    rendered = render(taxed(draft(line("80.00", line_id="L1"), currency="GBP"), who), who)
    assert breakdown(rendered) == [("80.00", "16.00", "S", "20")]


def test_a_credit_note_for_an_amendment_names_the_invoice_it_corrects() -> None:
    who = customer("DE", tax_id="DE136695976")
    credit = taxed(
        draft(
            line(
                "5.00",
                line_id="L1",
                description="Credit: unused Starter plan",
                period_start=date(2026, 10, 16),
            ),
            document_type="credit_note",
        ),
        who,
    )
    rendered = render(
        credit, who, preceding_invoice="RE-2026-0100", preceding_invoice_date=date(2026, 10, 1)
    )
    root = etree.fromstring(rendered.ubl)
    assert etree.QName(root).localname == "CreditNote"
    assert ubl(rendered, "/*/cbc:CreditNoteTypeCode/text()") == ["381"]
    assert ubl(rendered, "//cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID/text()") == [
        "RE-2026-0100"
    ]
    assert ubl(rendered, "//cac:CreditNoteLine/cac:InvoicePeriod/cbc:StartDate/text()") == [
        "2026-10-16"
    ]
    assert breakdown(rendered) == [("5.00", "0.95", "S", "19")]
    assert cii(rendered, "//rsm:ExchangedDocument/ram:TypeCode/text()") == ["381"]
    assert cii(rendered, "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID/text()") == [
        "RE-2026-0100"
    ]


def test_a_discount_is_a_document_level_allowance() -> None:
    who = customer("DE")
    invoice = taxed(
        draft(
            line("500.00", line_id="L1"),
            line("-50.00", line_id="L2", description="Launch discount 10%", model="discount"),
        ),
        who,
    )
    rendered = render(invoice, who)
    # 500.00 - 50.00 = 450.00; 19 % of it 85.50; 535.50 in all
    assert ubl(rendered, "/*/cac:AllowanceCharge/cbc:Amount/text()") == ["50.00"]
    assert ubl(rendered, "/*/cac:AllowanceCharge/cbc:AllowanceChargeReason/text()") == [
        "Launch discount 10%"
    ]
    assert ubl(rendered, "//cbc:AllowanceTotalAmount/text()") == ["50.00"]
    assert breakdown(rendered) == [("450.00", "85.50", "S", "19")]
    assert ubl(rendered, "//cbc:PayableAmount/text()") == ["535.50"]
    assert len(ubl(rendered, "//cac:InvoiceLine")) == 1
    assert cii(rendered, "//ram:SpecifiedTradeAllowanceCharge/ram:ActualAmount/text()") == ["50.00"]


def test_two_tax_rates_on_one_invoice() -> None:
    who = customer("DE")
    invoice = with_tax_lines(
        draft(line("100.00", line_id="L1"), line("50.00", line_id="L2")),
        vat_line("L1", "0.19", "100.00", "19.00"),
        vat_line("L2", "0.07", "50.00", "3.50"),
    )
    rendered = render(invoice, who)
    assert breakdown(rendered) == [("100.00", "19.00", "S", "19"), ("50.00", "3.50", "S", "7")]
    assert ubl(rendered, "//cbc:PayableAmount/text()") == ["172.50"]
    assert cii(rendered, "//ram:TaxTotalAmount/text()") == ["22.50"]


def test_yen_have_no_decimals() -> None:
    who = customer("DE", currency="JPY")
    rendered = render(taxed(draft(line("12345", line_id="L1"), currency="JPY"), who), who)
    # 12345 x 0.19 = 2345.55, half-up to 2346 yen
    assert breakdown(rendered) == [("12345", "2346", "S", "19")]
    assert ubl(rendered, "//cbc:PayableAmount/text()") == ["14691"]
    assert cii(rendered, "//ram:GrandTotalAmount/text()") == ["14691"]
