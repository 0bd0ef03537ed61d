"""The e-mail that carries a document: its Message-ID, headers, bodies and attachments."""

import base64
import hashlib
from datetime import datetime
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr

from pydantic import BaseModel, EmailStr

from schemas.delivery import Attachment, SendEmailInput


class _HeaderClasses(HeaderRegistry):
    """The standard header classes, each made once: the standard registry makes a new class
    for every header it parses (a `type()` call, some 48 per message)."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


_POLICY = SMTP.clone(header_factory=_HeaderClasses())


class Sender(BaseModel):
    address: EmailStr
    name: str = ""

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]


def message_id_for(posting_key: str, *, domain: str) -> str:
    """`<q2c.` + the first 32 hex digits of SHA-256(posting key) + `@domain>`.

    The same posting key always gives the same id, so a message sent again after a crash
    is recognisable as the same one, by the recipient's mail client too. A digest, because a
    posting key holds characters a Message-ID may not (RFC 5322 `dot-atom-text`) and says
    more than a customer needs to see.
    """
    digest = hashlib.sha256(posting_key.encode("utf-8")).hexdigest()[:32]
    return f"<q2c.{digest}@{domain}>"


def build_message(
    input: SendEmailInput, *, sender: Sender, message_id: str, date: datetime
) -> EmailMessage:
    """Text (and HTML, when given) with the attachments; `date` is the first attempt's."""
    message = EmailMessage(policy=_POLICY)
    message["From"] = formataddr((sender.name, sender.address))
    message["To"] = formataddr((input.recipient_name, input.recipient))
    message["Subject"] = input.subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    message.set_content(input.text_body)
    if input.html_body:
        message.add_alternative(input.html_body, subtype="html")
    for attachment in input.attachments:
        if message.get_content_type() != "multipart/mixed":
            message.make_mixed()
        message.attach(_attachment(attachment))
    return message


def _attachment(attachment: Attachment) -> EmailMessage:
    """The part `add_attachment` makes, byte for byte, with the base64 done in one C call
    (`add_attachment` encodes 57 bytes at a time in a Python loop)."""
    part = EmailMessage(policy=_POLICY)
    part["Content-Type"] = attachment.content_type
    part["Content-Transfer-Encoding"] = "base64"
    part["Content-Disposition"] = "attachment"
    part.set_param("filename", attachment.filename, header="Content-Disposition")
    part["MIME-Version"] = "1.0"
    part.set_payload(base64.encodebytes(attachment.content).decode("ascii"))
    return part
