"""The message q2c builds is, byte for byte, the one the standard library's own
`set_content` / `add_alternative` / `add_attachment` build (only the random MIME boundaries
differ), however the names and attachments look."""

import random
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr

import pytest

from activities.email_message import Sender, build_message
from schemas.delivery import Attachment, SendEmailInput

_BOUNDARY = re.compile(rb"={15}\d+==")
DATE = datetime(2026, 11, 1, 0, 7, 12, tzinfo=UTC)


def _standard(input: SendEmailInput, sender: Sender, message_id: str) -> bytes:
    """The message as the standard library's documented calls make it."""
    message = EmailMessage(policy=SMTP)
    message["From"] = formataddr((sender.name, sender.address))
    message["To"] = formataddr((input.recipient_name, input.recipient))
    message["Subject"] = input.subject
    message["Date"] = format_datetime(DATE)
    message["Message-ID"] = message_id
    message.set_content(input.text_body)
    if input.html_body:
        message.add_alternative(input.html_body, subtype="html")
    for attachment in input.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    return message.as_bytes(policy=SMTP)


@pytest.mark.parametrize(
    ("filename", "name", "subject", "html"),
    [
        ("INV-000007.pdf", "Buyer AP", "Invoice INV-000007", "<p>Invoice</p>"),
        ("Rechnung Müller & Söhne.pdf", "Jürgen Weiß", "Rechnung für Oktober – 1.234,00 €", ""),
        ('a "quoted"; name.pdf', "O'Brien, Ltd.", "x" * 300, "<p>é</p>"),
        ("n" * 200 + ".pdf", "", "Invoice", ""),
    ],
)
def test_the_message_is_the_standard_librarys_byte_for_byte(
    filename: str, name: str, subject: str, html: str
) -> None:
    content = random.Random(filename).randbytes(60_000)
    input = SendEmailInput(
        posting_key="q2c:C-1001:cycle:2026-10-01:2026-11-01",
        document_id="INV-000007",
        document_type="invoice",
        recipient="ap@buyer.example",
        recipient_name=name,
        subject=subject,
        text_body="Sehr geehrte Damen und Herren,\n\nanbei die Rechnung über 1.234,00 €.\n",
        html_body=html,
        attachments=[
            Attachment(filename=filename, content_type="application/pdf", content=content),
            Attachment(filename="INV.xml", content_type="application/xml", content=b"<a/>\n"),
        ],
    )
    sender = Sender(address="billing@seller.example", name="q2c Demo GmbH")
    built = build_message(input, sender=sender, message_id="<q2c.1@seller.example>", date=DATE)
    ours = _BOUNDARY.sub(b"B", built.as_bytes(policy=SMTP))
    assert ours == _BOUNDARY.sub(b"B", _standard(input, sender, "<q2c.1@seller.example>"))
