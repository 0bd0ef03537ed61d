"""Delivery of a posted document to the customer: one model in and one out per channel.

Attachments travel through Temporal as base64 in JSON (pydantic's bytes are UTF-8 by
default, which a PDF is not; its base64 is the URL-safe alphabet, RFC 4648 §5).
"""

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from schemas.contract import Contract, DocumentTerms
from schemas.customer import PEPPOL_PARTICIPANT_ID, Customer
from schemas.invoice import Invoice
from schemas.older_inputs import read_older_shape

DocumentType = Literal["invoice", "credit_note"]
Channel = Literal["email", "peppol"]

_ONE_LINE = r"^[^\r\n]*$"


class Attachment(BaseModel):
    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")

    filename: str = Field(
        min_length=1, max_length=255, pattern=r"^[^/\\\x00-\x1f]+$", description="No folders"
    )
    content_type: str = Field(
        pattern=r"^[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*$",
        description="e.g. application/pdf, application/xml",
    )
    content: bytes = Field(min_length=1, description="The bytes; base64 in JSON")


class DeliveryInput(BaseModel):
    posting_key: str = Field(
        min_length=1,
        max_length=512,
        description="The ERP posting key: one delivery per key, however often it is retried",
    )
    run_id: str = Field(default="", max_length=256, description="The workflow id, for the log")
    document_id: str = Field(min_length=1, max_length=64, description="The ERP document number")
    document_type: DocumentType


class SendEmailInput(DeliveryInput):
    recipient: EmailStr
    recipient_name: str = Field(default="", max_length=200, pattern=_ONE_LINE)
    subject: str = Field(min_length=1, max_length=998, pattern=_ONE_LINE)
    text_body: str = Field(min_length=1)
    html_body: str = Field(default="", description="Sent beside the text when given")
    attachments: list[Attachment] = Field(
        min_length=1, description="The PDF (Factur-X) and the UBL XML"
    )

    @field_validator("attachments")
    @classmethod
    def _unique_filenames(cls, attachments: list[Attachment]) -> list[Attachment]:
        names = [attachment.filename for attachment in attachments]
        doubled = sorted({name for name in names if names.count(name) > 1})
        if doubled:
            raise ValueError(f"each attachment needs its own filename: {', '.join(doubled)}")
        return attachments


class SendPeppolInput(DeliveryInput):
    recipient: str = Field(
        pattern=PEPPOL_PARTICIPANT_ID.pattern,
        description="Peppol participant id, e.g. 0208:0123456789",
    )
    document: Attachment = Field(description="The UBL invoice or credit note")

    @field_validator("document")
    @classmethod
    def _xml(cls, document: Attachment) -> Attachment:
        if not document.content_type.endswith("xml"):
            raise ValueError(f"Peppol carries UBL XML, not {document.content_type}")
        return document


class DeliveryResult(BaseModel):
    channel: Channel
    recipient: str
    message_id: str = Field(description="The e-mail's Message-ID, or the Peppol transmission id")
    sent_at: datetime
    already_sent: bool = Field(
        description="True when the delivery log had it as sent: nothing was sent this time"
    )


DeliveryState = Literal["sending", "sent", "failed"]


class DeliveryRecord(BaseModel):
    """One document's entry in the delivery log, kept in q2c's own database."""

    key: str = Field(description="The posting key")
    channel: Channel
    recipient: str
    document_id: str
    run_id: str = ""
    message_id: str = Field(
        description="Fixed before the first attempt (e-mail), or the id "
        "the access point gave (Peppol, once sent)"
    )
    state: DeliveryState
    attempts: int = 1
    intent_at: datetime = Field(description="When the first attempt was recorded")
    sent_at: datetime | None = None
    reply: str = Field(default="", description="The server's last answer")


Purpose = Literal["document", "reminder", "final_notice"]
"""Why a message goes out: the document itself (by the customer's channel), or a dunning
reminder or final notice about it (always by e-mail, with the invoice attached)."""


class DeliverDocumentInput(BaseModel):
    """Render a posted document (UBL, CII in a Factur-X PDF), check it with the EN 16931
    rules, and send it: one call, so no document bytes enter the run's history."""

    run_id: str = Field(min_length=1, max_length=256, description="The workflow id")
    delivery_key: str = Field(
        min_length=1,
        max_length=512,
        description="One message per key however often it is retried: the posting key for "
        "the document, `<posting key>:<purpose>:<level>` for a dunning message",
    )
    invoice: Invoice = Field(description="The posted invoice or credit note, taxed")
    erp_document_id: str = Field(min_length=1, max_length=64, description="BT-1: the ERP's number")
    posting_key: str = Field(min_length=1, max_length=512)
    customer: Customer
    terms: DocumentTerms = Field(
        description="What the document quotes of the contract (due date, BT-10, BT-13)"
    )
    issue_date: date = Field(description="BT-2: the day the ERP posted the document")
    preceding_invoice: str = Field(
        default="", max_length=64, description="BT-25: the invoice a credit note corrects"
    )
    preceding_invoice_date: date | None = None
    purpose: Purpose = "document"
    message: str = Field(
        default="", max_length=4000, description="A dunning message's own words (amount due…)"
    )

    @model_validator(mode="before")
    @classmethod
    def _scheduled_with_the_contract(cls, data: Any) -> Any:
        """An input scheduled by a worker from before `terms` carries the whole contract."""
        return read_older_shape(
            data,
            old="contract",
            new="terms",
            convert=lambda contract: {"terms": Contract.model_validate(contract).document_terms},
        )
