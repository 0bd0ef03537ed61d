"""E-mail delivery over real SMTP to the outbox server, with the delivery log in a real
database (SQLite and PostgreSQL): sent once per posting key, refused and deferred as the
server says."""

import hashlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError

from activities.delivery import DeliveryActivities
from activities.email_message import Sender
from activities.errors import TRANSIENT
from activities.smtp import SmtpTarget, parse_smtp_url
from devstack.stack import free_port
from schemas.delivery import Attachment, DeliveryRecord, SendEmailInput
from schemas.errors import ReasonCode
from tests.outbox import OutboxServer, tls_relay
from workers.delivery_log import DeliveryLogStore

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n%%EOF\n"  # not UTF-8, as PDFs are
UBL = b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>'
SENDER = Sender(address="billing@seller.example", name="q2c Demo GmbH")


@pytest.fixture(scope="module")
def outbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OutboxServer]:
    server = OutboxServer(folder=tmp_path_factory.mktemp("inbox") / "outbox")
    server.start()
    yield server
    server.stop()


def _activities(target: SmtpTarget, log: DeliveryLogStore) -> DeliveryActivities:
    # The Peppol client is not used by send_email.
    return DeliveryActivities(smtp=target, sender=SENDER, peppol=httpx.AsyncClient(), log=log)


def _plain(port: int) -> SmtpTarget:
    return parse_smtp_url(f"smtp://127.0.0.1:{port}?starttls=off")


def _input(recipient: str = "ap@buyer.example", **overrides: object) -> SendEmailInput:
    values: dict[str, object] = {
        "posting_key": f"q2c:C-1001:cycle:2026-10-01:2026-11-01:{uuid.uuid4().hex[:8]}",
        "run_id": "q2c:C-1001:cycle:2026-10-01:2026-11-01",
        "document_id": "INV-000007",
        "document_type": "invoice",
        "recipient": recipient,
        "recipient_name": "Buyer AP",
        "subject": "Invoice INV-000007 from q2c Demo GmbH",
        "text_body": "Dear customer,\n\nplease find invoice INV-000007 attached.\n",
        "html_body": "<p>Dear customer,</p><p>please find invoice <b>INV-000007</b> attached.</p>",
        "attachments": [
            Attachment(filename="INV-000007.pdf", content_type="application/pdf", content=PDF),
            Attachment(filename="INV-000007.xml", content_type="application/xml", content=UBL),
        ],
    }
    return SendEmailInput.model_validate(values | overrides)


def _expected_message_id(posting_key: str) -> str:
    # The documented rule, computed here by hand: <q2c.{sha256 hex[:32]}@{sender's domain}>.
    return f"<q2c.{hashlib.sha256(posting_key.encode()).hexdigest()[:32]}@seller.example>"


def _mine(outbox: OutboxServer, message_id: str) -> list[Path]:
    return [p for p in outbox.files() if f"Message-ID: {message_id}".encode() in p.read_bytes()]


async def test_the_message_lands_in_the_outbox_with_both_bodies_and_attachments(
    outbox: OutboxServer, delivery_log: DeliveryLogStore
) -> None:
    input = _input()
    result = await _activities(_plain(outbox.port), delivery_log).send_email(input)

    message_id = _expected_message_id(input.posting_key)
    assert (result.channel, result.recipient, result.message_id, result.already_sent) == (
        "email",
        "ap@buyer.example",
        message_id,
        False,
    )
    [path] = _mine(outbox, message_id)
    [stored] = [m for m in outbox.messages() if m["Message-ID"] == message_id]
    assert path.suffix == ".eml"
    assert stored["From"] == "q2c Demo GmbH <billing@seller.example>"
    assert stored["To"] == "Buyer AP <ap@buyer.example>"
    assert stored["Delivered-To"] == "ap@buyer.example"
    assert stored["Subject"] == "Invoice INV-000007 from q2c Demo GmbH"
    assert stored.get_content_type() == "multipart/mixed"
    text = stored.get_body(preferencelist=("plain",))
    html = stored.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    # The .eml keeps SMTP's CRLF line ends, as sent.
    assert text.get_content().replace("\r\n", "\n") == input.text_body
    assert html.get_content().strip() == input.html_body
    attachments = {a.get_filename(): a for a in stored.iter_attachments()}
    assert set(attachments) == {"INV-000007.pdf", "INV-000007.xml"}
    assert attachments["INV-000007.pdf"].get_content_type() == "application/pdf"
    assert attachments["INV-000007.pdf"].get_content() == PDF
    assert attachments["INV-000007.xml"].get_content_type() == "application/xml"
    assert attachments["INV-000007.xml"].get_payload(decode=True) == UBL
    sent_date = parsedate_to_datetime(stored["Date"])
    assert abs((result.sent_at - sent_date).total_seconds()) < 5
    entry = delivery_log.find(input.posting_key)
    assert entry is not None
    assert (entry.state, entry.message_id, entry.attempts) == ("sent", message_id, 1)
    assert entry.reply.startswith("2.0.0 Ok: queued as")


async def test_a_second_call_with_the_same_key_sends_nothing(
    outbox: OutboxServer, delivery_log: DeliveryLogStore
) -> None:
    activities = _activities(_plain(outbox.port), delivery_log)
    input = _input()
    first = await activities.send_email(input)
    again = await activities.send_email(input)
    assert again.already_sent
    assert (again.message_id, again.sent_at, again.recipient) == (
        first.message_id,
        first.sent_at,
        first.recipient,
    )
    assert len(_mine(outbox, first.message_id)) == 1


async def test_an_attempt_cut_off_after_its_intent_sends_again_as_the_same_message(
    outbox: OutboxServer, delivery_log: DeliveryLogStore
) -> None:
    # What a worker that died between recording the intent and recording `sent` leaves.
    input = _input()
    message_id = _expected_message_id(input.posting_key)
    intent_at = datetime(2026, 11, 1, 0, 7, 12, tzinfo=UTC)
    delivery_log.begin(
        DeliveryRecord(
            key=input.posting_key,
            channel="email",
            recipient=input.recipient,
            document_id=input.document_id,
            message_id=message_id,
            state="sending",
            intent_at=intent_at,
        )
    )
    result = await _activities(_plain(outbox.port), delivery_log).send_email(input)
    assert not result.already_sent
    [stored] = [m for m in outbox.messages() if m["Message-ID"] == message_id]
    assert parsedate_to_datetime(stored["Date"]) == intent_at  # the first attempt's
    entry = delivery_log.find(input.posting_key)
    assert entry is not None and (entry.state, entry.attempts) == ("sent", 2)


async def test_a_550_is_a_permanent_delivery_failure_naming_recipient_and_reply(
    outbox: OutboxServer, delivery_log: DeliveryLogStore
) -> None:
    activities = _activities(_plain(outbox.port), delivery_log)
    input = _input("bounce@buyer.example")
    with pytest.raises(ApplicationError) as refused:
        await activities.send_email(input)
    assert refused.value.type == ReasonCode.DELIVERY_FAILED
    assert refused.value.non_retryable
    assert "bounce@buyer.example" in refused.value.message
    assert "550 5.1.1" in refused.value.message
    entry = delivery_log.find(input.posting_key)
    assert entry is not None and entry.state == "failed" and "550 5.1.1" in entry.reply
    assert _mine(outbox, _expected_message_id(input.posting_key)) == []

    # A person fixes the address; the run asks again under the same key, and it is sent.
    fixed = input.model_copy(update={"recipient": "ap@buyer.example"})
    result = await activities.send_email(fixed)
    assert (result.recipient, result.already_sent) == ("ap@buyer.example", False)
    assert len(_mine(outbox, result.message_id)) == 1


async def test_a_451_is_retryable(outbox: OutboxServer, delivery_log: DeliveryLogStore) -> None:
    input = _input("busy@buyer.example")
    with pytest.raises(ApplicationError) as deferred:
        await _activities(_plain(outbox.port), delivery_log).send_email(input)
    assert not deferred.value.non_retryable
    assert deferred.value.type == TRANSIENT
    assert "busy@buyer.example" in deferred.value.message
    assert "451 4.3.0" in deferred.value.message
    entry = delivery_log.find(input.posting_key)
    assert entry is not None and entry.state == "sending"  # the retry takes it up


async def test_a_refused_connection_is_retryable(delivery_log: DeliveryLogStore) -> None:
    closed = free_port()  # nothing listens here
    with pytest.raises(ApplicationError) as unreachable:
        await _activities(_plain(closed), delivery_log).send_email(_input())
    assert not unreachable.value.non_retryable
    assert unreachable.value.type == TRANSIENT
    assert f"127.0.0.1:{closed}" in unreachable.value.message


@pytest.fixture(scope="module")
def tls_outbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[OutboxServer, Path]]:
    """A relay like production's: STARTTLS required, then a login."""
    with tls_relay(tmp_path_factory.mktemp("relay"), login="q2c:s3cr%t") as relay:
        yield relay


async def test_starttls_and_login_from_the_url(
    tls_outbox: tuple[OutboxServer, Path], tmp_path: Path
) -> None:
    server, ca = tls_outbox
    # The password's % is percent-encoded in the URL, as RFC 3986 asks.
    target = parse_smtp_url(f"smtp://q2c:s3cr%25t@localhost:{server.port}")
    target = target.model_copy(update={"ca_file": str(ca)})
    log = DeliveryLogStore(url=f"sqlite:///{tmp_path / 'audit.db'}")
    log.create()
    result = await _activities(target, log).send_email(_input())
    assert len(_mine(server, result.message_id)) == 1

    wrong = parse_smtp_url(f"smtp://q2c:nope@localhost:{server.port}")
    with pytest.raises(ApplicationError) as refused:
        await _activities(wrong.model_copy(update={"ca_file": str(ca)}), log).send_email(_input())
    assert (refused.value.type, refused.value.non_retryable) == (ReasonCode.CONFIGURATION, True)
    assert "535" in refused.value.message and "nope" not in refused.value.message

    untrusted = parse_smtp_url(f"smtp://q2c:s3cr%25t@localhost:{server.port}")
    with pytest.raises(ApplicationError) as distrusted:
        await _activities(untrusted, log).send_email(_input())  # the system's CAs only
    assert (distrusted.value.type, distrusted.value.non_retryable) == (
        ReasonCode.CONFIGURATION,
        True,
    )
    assert "certificate" in distrusted.value.message
    log.dispose()


async def test_a_server_without_starttls_is_a_configuration_error(
    outbox: OutboxServer, delivery_log: DeliveryLogStore
) -> None:
    # smtp:// requires STARTTLS; the plain outbox does not offer it: never fall back to clear.
    target = parse_smtp_url(f"smtp://q2c:pw@127.0.0.1:{outbox.port}")
    with pytest.raises(ApplicationError) as refused:
        await _activities(target, delivery_log).send_email(_input())
    assert (refused.value.type, refused.value.non_retryable) == (ReasonCode.CONFIGURATION, True)
    assert "STARTTLS" in refused.value.message


def test_attachments_cross_temporal_as_base64_and_come_back_as_the_same_bytes() -> None:
    input = _input()
    converter = pydantic_data_converter.payload_converter
    [payload] = converter.to_payloads([input])
    assert b"JVBERi0xLjcK" in payload.data  # base64 of "%PDF-1.7\n"
    [back] = converter.from_payloads([payload], [SendEmailInput])
    assert back == input


@pytest.mark.parametrize(
    ("overrides", "field", "says"),
    [
        ({"recipient": "billing@@broken"}, "recipient", "email address"),
        ({"subject": "Invoice\r\nBcc: all@example.com"}, "subject", "pattern"),
        ({"attachments": []}, "attachments", "at least 1"),
        (
            {
                "attachments": [
                    Attachment(filename="a.pdf", content_type="application/pdf", content=PDF),
                    Attachment(filename="a.pdf", content_type="application/pdf", content=PDF),
                ]
            },
            "attachments",
            "own filename: a.pdf",
        ),
        ({"posting_key": ""}, "posting_key", "at least 1"),
        ({"document_type": "receipt"}, "document_type", "'invoice' or 'credit_note'"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    overrides: dict[str, object], field: str, says: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        _input(**overrides)  # type: ignore[arg-type]
    [error] = refused.value.errors()
    assert error["loc"][0] == field
    assert says in error["msg"]


@pytest.mark.parametrize(
    ("filename", "content_type"),
    [("../etc/passwd", "application/pdf"), ("a.pdf", "pdf"), ("", "application/pdf")],
)
def test_an_attachment_needs_a_plain_filename_and_a_media_type(
    filename: str, content_type: str
) -> None:
    with pytest.raises(ValidationError):
        Attachment(filename=filename, content_type=content_type, content=PDF)
