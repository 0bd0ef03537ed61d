"""A posted document to the customer: render it (UBL, CII in a Factur-X PDF), check it with
the EN 16931 rules, and send it by the customer's channel, in one activity, so that no
document bytes enter the run's history.

    purpose        channel                what is sent
    document       email (the default)    e-mail: text and HTML body, the PDF and the UBL
                   peppol                 the UBL to the access point
    reminder       always e-mail          the dunning `message` in the body, the PDF
    final_notice   always e-mail          the same, as a final notice

    failure                                  →
     ├─ input a category or rule needs is     permanent einvoice_invalid, naming field and
     │   missing (EInvoiceError)               rule; nothing rendered, nothing sent
     ├─ a fatal official rule fails           permanent einvoice_invalid, naming the rule
     │   (DocumentRejected)                    ids; nothing sent
     ├─ an address the channel needs is bad   permanent customer_invalid, naming the field
     └─ the transport's own                   as DeliveryActivities maps them (SMTP 5xx
                                               delivery_failed, 4xx transient…)
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from html import escape
from typing import Any, Protocol, TypeVar

from pydantic import ValidationError
from temporalio import activity

from activities.delivery import DeliveryActivities
from activities.errors import permanent
from billing.einvoice import DocumentRejected, EInvoiceError, RenderedDocuments, render_documents
from billing.tax import Seller
from schemas.delivery import (
    Attachment,
    DeliverDocumentInput,
    DeliveryResult,
    SendEmailInput,
    SendPeppolInput,
)
from schemas.errors import ReasonCode

PDF = "application/pdf"
XML = "application/xml"
T = TypeVar("T")


class Offload(Protocol):
    """Where a document is rendered: off the event loop (a thread, or a process of a pool)."""

    async def run(self, fn: Callable[..., T], *args: Any) -> T: ...


class InThread:
    """Render in a thread of the worker's own process."""

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(fn, *args)


@dataclass(frozen=True)
class Refused:
    """A document that must not be sent, as a render process hands it back: the reason
    crosses the process boundary as data, not as an exception to pickle."""

    message: str
    details: dict[str, Any] = field(default_factory=dict)


class DocumentActivities:
    def __init__(
        self, *, seller: Seller, delivery: DeliveryActivities, offload: Offload | None = None
    ) -> None:
        self._seller = seller
        self._delivery = delivery
        self._offload = offload or InThread()

    @activity.defn
    async def deliver_document(self, input: DeliverDocumentInput) -> DeliveryResult:
        """Render, check and send one posted document (or a dunning message about it) once
        per delivery key. A retry after the send finds it in the delivery log and renders
        nothing: it answers what the send answers to a key already sent."""
        sent = await self._delivery.already_sent(input.delivery_key)
        if sent is not None:
            return sent
        rendered = await self._offload.run(render_or_refusal, input, self._seller)
        if isinstance(rendered, Refused):
            raise permanent(ReasonCode.EINVOICE_INVALID, rendered.message, rendered.details)
        if input.purpose == "document" and input.customer.delivery_channel == "peppol":
            return await self._delivery.send_peppol(_peppol(input, rendered))
        return await self._delivery.send_email(_email(input, rendered, seller=self._seller))


def render_input(input: DeliverDocumentInput, *, seller: Seller) -> RenderedDocuments:
    """The files of the document a delivery was given; raises what `render_documents` does.
    Rendering is deterministic: the same input gives the same bytes again."""
    return render_documents(
        input.invoice,
        number=input.erp_document_id,
        issue_date=input.issue_date,
        seller=seller,
        customer=input.customer,
        terms=input.terms,
        preceding_invoice=input.preceding_invoice,
        preceding_invoice_date=input.preceding_invoice_date,
    )


def render_or_refusal(input: DeliverDocumentInput, seller: Seller) -> RenderedDocuments | Refused:
    """The document's files, or why it must not be sent (naming field and rule)."""
    try:
        return render_input(input, seller=seller)
    except EInvoiceError as error:
        return Refused(
            f"{input.erp_document_id}: {error.field}: {error.message} ({error.rule}); "
            "nothing was sent",
            {"field": error.field, "rule_ids": [error.rule]},
        )
    except DocumentRejected as error:
        return Refused(
            f"{error.document} fails EN 16931 rules {', '.join(error.rule_ids)}; nothing was sent",
            {"rule_ids": error.rule_ids},
        )


def _label(input: DeliverDocumentInput) -> str:
    return "Credit note" if input.invoice.document_type == "credit_note" else "Invoice"


def _peppol(input: DeliverDocumentInput, rendered: RenderedDocuments) -> SendPeppolInput:
    try:
        return SendPeppolInput(
            posting_key=input.delivery_key,
            run_id=input.run_id,
            document_id=input.erp_document_id,
            document_type=input.invoice.document_type,
            recipient=input.customer.peppol_id,
            document=Attachment(
                filename=f"{rendered.file_stem}.xml", content_type=XML, content=rendered.ubl
            ),
        )
    except ValidationError:
        raise permanent(
            ReasonCode.CUSTOMER_INVALID,
            f"customer.peppol_id: {input.customer.peppol_id!r} is no Peppol participant id "
            "(scheme:identifier, e.g. 0208:0123456789); nothing was sent",
        ) from None


def _day(value: date) -> str:
    return f"{value.day} {value:%B %Y}"


def _email(
    input: DeliverDocumentInput, rendered: RenderedDocuments, *, seller: Seller
) -> SendEmailInput:
    invoice, number = input.invoice, input.erp_document_id
    label = _label(input)
    amount = f"{invoice.total} {invoice.currency}"
    stem = rendered.file_stem
    pdf = Attachment(filename=f"{stem}.pdf", content_type=PDF, content=rendered.pdf)
    if input.purpose == "document":
        subject = f"{label} {number} from {seller.name}"
        paragraphs = [f"please find attached our {label.lower()} {number} over {amount}."]
        if rendered.due_date is not None:  # an invoice; a credit note has none
            paragraphs.append(
                f"It is payable by {_day(rendered.due_date)} to IBAN {seller.iban}"
                f"{f' (BIC {seller.bic})' if seller.bic else ''}, with {number} as the reference."
            )
        elif input.preceding_invoice:
            paragraphs.append(f"It corrects invoice {input.preceding_invoice}.")
        paragraphs.append(
            "The PDF carries the structured invoice (Factur-X, EN 16931); the XML file is the "
            "same invoice as UBL (Peppol BIS Billing 3.0)."
        )
        attachments = [
            pdf,
            Attachment(filename=f"{stem}.xml", content_type=XML, content=rendered.ubl),
        ]
    else:
        heading = "Payment reminder" if input.purpose == "reminder" else "Final notice"
        subject = f"{heading}: invoice {number} over {amount}"
        paragraphs = [
            input.message or f"our invoice {number} over {amount} is still open.",
            f"The invoice is attached. Please pay to IBAN {seller.iban} with {number} as the "
            "reference, or tell us if you have paid already.",
        ]
        attachments = [pdf]
    greeting = f"Dear {input.customer.name},"
    closing = f"Kind regards,\n{seller.name}"
    text = "\n\n".join([greeting, *paragraphs, closing]) + "\n"
    html = "".join(f"<p>{escape(p)}</p>" for p in [greeting, *paragraphs]) + (
        f"<p>Kind regards,<br>{escape(seller.name)}</p>"
    )
    try:
        return SendEmailInput(
            posting_key=input.delivery_key,
            run_id=input.run_id,
            document_id=number,
            document_type=invoice.document_type,
            recipient=input.customer.email,
            recipient_name=" ".join(input.customer.name.split()),
            subject=subject,
            text_body=text,
            html_body=f"<html><body>{html}</body></html>",
            attachments=attachments,
        )
    except ValidationError as error:
        fields = ", ".join(str(e["loc"][0]) for e in error.errors())
        raise permanent(
            ReasonCode.CUSTOMER_INVALID,
            f"customer.email: {input.customer.email!r} cannot take the {label.lower()} "
            f"({fields}); nothing was sent",
        ) from None
