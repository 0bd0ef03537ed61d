"""The e-mail that carries a document: its Message-ID, headers, bodies and attachments."""

import hashlib
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr

from pydantic import BaseModel, EmailStr

from schemas.delivery import SendEmailInput


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
    message = EmailMessage(policy=SMTP)
    message["From"] = formataddr((sender.name, sender.address))
    message["To"] = formataddr((input.recipient_name, input.recipient))
    message["Subject"] = input.subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    message.set_content(input.text_body)
    if input.html_body:
        message.add_alternative(input.html_body, subtype="html")
    for attachment in input.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    return message
