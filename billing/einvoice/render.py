"""The one call the delivery phase makes: a posted document in, checked files out."""

from datetime import date

from pydantic import BaseModel, Field

from billing.einvoice.build import build_document
from billing.einvoice.cii import render_cii
from billing.einvoice.document import Document
from billing.einvoice.errors import DocumentRejected
from billing.einvoice.pdf import render_facturx
from billing.einvoice.ubl import render_ubl
from billing.einvoice.validation import ValidationReport, validate_rendered
from billing.tax.engine import Seller
from schemas.contract import DocumentTerms
from schemas.customer import Customer
from schemas.invoice import Invoice


class RenderedDocuments(BaseModel):
    number: str = Field(description="BT-1, the ERP's document number")
    due_date: date | None = Field(description="BT-9; none on a credit note")
    ubl: bytes = Field(description="UBL 2.1 Invoice or CreditNote, Peppol BIS Billing 3.0")
    cii: bytes = Field(description="CII D16B, Factur-X EN 16931 profile")
    pdf: bytes = Field(description="PDF/A-3 carrying the CII as factur-x.xml")
    ubl_report: ValidationReport
    cii_report: ValidationReport

    @property
    def file_stem(self) -> str:
        return "".join(char if char.isalnum() or char in "-_." else "_" for char in self.number)


def render_documents(
    invoice: Invoice,
    *,
    number: str,
    issue_date: date,
    seller: Seller,
    customer: Customer,
    terms: DocumentTerms | None = None,
    preceding_invoice: str = "",
    preceding_invoice_date: date | None = None,
) -> RenderedDocuments:
    """UBL, CII and the Factur-X PDF of one posted document, each XML run through the
    official EN 16931 rules. Raises `EInvoiceError` (input lacks what a rule needs; nothing
    rendered) or `DocumentRejected` (a fatal rule failed; the rule ids are on it)."""
    document = build_document(
        invoice,
        number=number,
        issue_date=issue_date,
        seller=seller,
        customer=customer,
        terms=terms,
        preceding_invoice=preceding_invoice,
        preceding_invoice_date=preceding_invoice_date,
    )
    return render(document)


def render(document: Document) -> RenderedDocuments:
    ubl, cii = render_ubl(document), render_cii(document)
    ubl_report, cii_report = validate_rendered(ubl, "ubl"), validate_rendered(cii, "cii")
    for name, report in (("UBL", ubl_report), ("CII", cii_report)):
        if not report.ok:
            raise DocumentRejected(f"{name} {document.number}", report.fatal_rule_ids)
    return RenderedDocuments(
        number=document.number,
        due_date=document.due_date,
        ubl=ubl,
        cii=cii,
        pdf=render_facturx(document, cii),
        ubl_report=ubl_report,
        cii_report=cii_report,
    )
