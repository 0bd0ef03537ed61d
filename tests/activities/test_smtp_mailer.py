"""The worker's SMTP connections, kept from message to message, against the real outbox
server: which connection carried a message is read from the Received trace the server
writes on top of it (the client's address and port, one per connection)."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from email.utils import formataddr
from pathlib import Path

import httpx
import pytest
from temporalio.exceptions import ApplicationError

from activities.delivery import DeliveryActivities
from activities.email_message import Sender
from activities.errors import TRANSIENT
from activities.mailer import SmtpMailer
from activities.smtp import SmtpTarget, parse_smtp_url
from schemas.delivery import Attachment, SendEmailInput
from schemas.errors import ReasonCode
from tests.outbox import OutboxServer, tls_relay
from workers.delivery_log import DeliveryLogStore

SENDER = "billing@seller.example"


@pytest.fixture
async def mailer(outbox: OutboxServer) -> AsyncIterator[SmtpMailer]:
    async with SmtpMailer(parse_smtp_url(outbox.url)) as kept:
        yield kept


def _message(recipient: str = "ap@buyer.example") -> EmailMessage:
    message = EmailMessage()
    message["From"] = formataddr(("q2c Demo GmbH", SENDER))
    message["To"] = formataddr(("Buyer AP", recipient))
    message["Subject"] = "Invoice INV-000011"
    message["Message-ID"] = f"<{uuid.uuid4().hex}@seller.example>"
    message.set_content("Invoice attached.\n")
    message.add_attachment(b"%PDF-1.7\n", maintype="application", subtype="pdf", filename="a.pdf")
    return message


async def _send(mailer: SmtpMailer, recipient: str = "ap@buyer.example") -> str:
    """Send a new message; its Message-ID."""
    message = _message(recipient)
    await mailer.send(message, sender=SENDER, recipient=recipient)
    return str(message["Message-ID"])


def _connections(outbox: OutboxServer) -> dict[str, str]:
    """Message-ID → the client end (address and port) of the connection it came over."""
    found = {}
    for stored in outbox.messages():
        received = str(stored["Received"])  # from <name> ([127.0.0.1]:<port>) by outbox...
        found[str(stored["Message-ID"])] = received.split("(", 1)[1].split(")", 1)[0]
    return found


async def test_two_messages_go_over_one_connection(
    outbox: OutboxServer, mailer: SmtpMailer
) -> None:
    first = await _send(mailer)
    second = await _send(mailer)
    connections = _connections(outbox)
    assert set(connections) == {first, second}
    assert connections[first] == connections[second]


async def test_a_connection_per_message_without_keep_open(outbox: OutboxServer) -> None:
    mailer = SmtpMailer(parse_smtp_url(outbox.url), keep_open=False)
    first = await _send(mailer)
    second = await _send(mailer)
    connections = _connections(outbox)
    assert connections[first] != connections[second]


@pytest.mark.parametrize("noticed", [True, False], ids=["hang-up-seen", "hang-up-unseen"])
async def test_a_server_that_hung_up_on_the_idle_connection_gets_the_next_message_once(
    outbox: OutboxServer, mailer: SmtpMailer, noticed: bool
) -> None:
    first = await _send(mailer)
    outbox.stop()
    outbox.start()  # same port, a new process: the kept connection is gone
    if noticed:
        await asyncio.sleep(0.2)  # the client reads the server's close before it sends
    # Unnoticed, the client writes MAIL on the dead connection, then reconnects.
    second = await _send(mailer)
    connections = _connections(outbox)
    assert sorted(connections) == sorted([first, second])  # each once
    assert connections[first] != connections[second]
    third = await _send(mailer)
    assert _connections(outbox)[third] == _connections(outbox)[second]


async def test_a_refused_recipient_leaves_the_connection_usable(
    outbox: OutboxServer, mailer: SmtpMailer
) -> None:
    first = await _send(mailer)
    with pytest.raises(ApplicationError) as bounced:
        await _send(mailer, "bounce@buyer.example")
    assert (bounced.value.type, bounced.value.non_retryable) == (ReasonCode.DELIVERY_FAILED, True)
    assert "550 5.1.1" in bounced.value.message
    assert "Buyer AP <bounce@buyer.example>" in bounced.value.message
    with pytest.raises(ApplicationError) as deferred:
        await _send(mailer, "busy@buyer.example")
    assert (deferred.value.type, deferred.value.non_retryable) == (TRANSIENT, False)
    assert "451 4.3.0" in deferred.value.message
    last = await _send(mailer)
    connections = _connections(outbox)
    assert set(connections) == {first, last}  # nothing stored for the refused ones
    assert connections[first] == connections[last]  # RSET, and on over the same one


async def test_a_server_gone_for_good_is_a_transient_error(
    outbox: OutboxServer, mailer: SmtpMailer
) -> None:
    first = await _send(mailer)
    outbox.stop()
    with pytest.raises(ApplicationError) as unreachable:
        await _send(mailer)
    assert (unreachable.value.type, unreachable.value.non_retryable) == (TRANSIENT, False)
    assert f"127.0.0.1:{outbox.port}" in unreachable.value.message
    outbox.start()  # back: the next message gets a new connection
    delivered = await _send(mailer)
    assert set(_connections(outbox)) == {first, delivered}


async def test_an_idle_connection_is_not_reused_past_its_limit(outbox: OutboxServer) -> None:
    async with SmtpMailer(parse_smtp_url(outbox.url), max_idle_seconds=0.05) as mailer:
        first = await _send(mailer)
        await asyncio.sleep(0.1)
        second = await _send(mailer)
    connections = _connections(outbox)
    assert connections[first] != connections[second]


async def test_concurrent_messages_share_at_most_the_connections_allowed(
    outbox: OutboxServer,
) -> None:
    async with SmtpMailer(parse_smtp_url(outbox.url), connections=2) as mailer:
        sent = await asyncio.gather(*(_send(mailer) for _ in range(6)))
    connections = _connections(outbox)
    assert sorted(connections) == sorted(sent)
    assert len(set(connections.values())) <= 2


async def test_once_closed_it_keeps_no_connection(outbox: OutboxServer) -> None:
    mailer = SmtpMailer(parse_smtp_url(outbox.url))
    first = await _send(mailer)
    await mailer.aclose()  # QUIT on the kept one
    second = await _send(mailer)  # a worker still draining: sent, then QUIT
    third = await _send(mailer)
    connections = _connections(outbox)
    assert len({connections[first], connections[second], connections[third]}) == 3


def test_at_least_one_connection() -> None:
    with pytest.raises(ValueError, match="connections: at least 1, not 0"):
        SmtpMailer(parse_smtp_url("smtp://127.0.0.1:2525?starttls=off"), connections=0)


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[OutboxServer, Path]]:
    """STARTTLS required, then a login, as production's relay."""
    with tls_relay(tmp_path_factory.mktemp("relay"), login="q2c:pw") as relay:
        yield relay


def _relay_target(relay: tuple[OutboxServer, Path], password: str) -> SmtpTarget:
    server, ca = relay
    target = parse_smtp_url(f"smtp://q2c:{password}@localhost:{server.port}")
    return target.model_copy(update={"ca_file": str(ca)})


async def test_a_kept_connection_to_a_relay_logs_in_once(
    relay: tuple[OutboxServer, Path],
) -> None:
    server, _ = relay
    async with SmtpMailer(_relay_target(relay, "pw")) as mailer:
        first = await _send(mailer)
        second = await _send(mailer)
        server.stop()
        server.start()  # a relay restarted: STARTTLS and login again on the new connection
        third = await _send(mailer)
    connections = _connections(server)
    assert connections[first] == connections[second] != connections[third]

    async with SmtpMailer(_relay_target(relay, "nope")) as wrong:
        with pytest.raises(ApplicationError) as refused:
            await _send(wrong)
    assert (refused.value.type, refused.value.non_retryable) == (ReasonCode.CONFIGURATION, True)
    assert "535" in refused.value.message and "nope" not in refused.value.message


def _input() -> SendEmailInput:
    return SendEmailInput(
        posting_key=f"q2c:C-1001:cycle:2026-10-01:2026-11-01:{uuid.uuid4().hex[:8]}",
        document_id="INV-000011",
        document_type="invoice",
        recipient="ap@buyer.example",
        subject="Invoice INV-000011",
        text_body="Invoice attached.",
        attachments=[
            Attachment(filename="INV-000011.pdf", content_type="application/pdf", content=b"%PDF")
        ],
    )


async def test_delivery_activities_send_over_the_workers_kept_connection(
    outbox: OutboxServer, mailer: SmtpMailer, tmp_path: Path
) -> None:
    log = DeliveryLogStore(url=f"sqlite:///{tmp_path / 'audit.db'}")
    log.create()
    async with httpx.AsyncClient() as peppol:
        activities = DeliveryActivities(
            smtp=mailer, sender=Sender(address=SENDER), peppol=peppol, log=log
        )
        one, two = _input(), _input()
        first = await activities.send_email(one)
        second = await activities.send_email(two)
        again = await activities.send_email(two)  # the log says sent: nothing goes out
    log.dispose()
    connections = _connections(outbox)
    assert set(connections) == {first.message_id, second.message_id}
    assert connections[first.message_id] == connections[second.message_id]
    assert (again.already_sent, again.message_id) == (True, second.message_id)
