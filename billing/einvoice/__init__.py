"""EN 16931 e-invoices from posted documents: UBL, CII (Factur-X), PDF, and the official rules.

`render_documents(invoice, number=..., issue_date=..., seller=..., customer=...)` returns
the UBL, the CII and the Factur-X PDF of one posted document, each XML checked with the
CEN/TC 434 rules; `validate(xml)` checks any UBL or CII document.
"""

from billing.einvoice.build import build_document
from billing.einvoice.errors import EINVOICE_INVALID, DocumentRejected, EInvoiceError, UnreadableXml
from billing.einvoice.render import RenderedDocuments, render_documents
from billing.einvoice.validation import (
    FailedRule,
    ValidationReport,
    detect_syntax,
    validate,
    warm_up,
)

__all__ = [
    "EINVOICE_INVALID",
    "DocumentRejected",
    "EInvoiceError",
    "FailedRule",
    "RenderedDocuments",
    "UnreadableXml",
    "ValidationReport",
    "build_document",
    "detect_syntax",
    "render_documents",
    "validate",
    "warm_up",
]
