"""The outbox: a real SMTP server that stores what it accepts and refuses what it is told to.

The client here is the standard library's smtplib, so the server is checked against an
SMTP implementation that is not q2c's.
"""

import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.outbox import OutboxServer, run_outbox, tls_relay


def _message(to: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "billing@seller.example"
    message["To"] = to
    message["Subject"] = "Invoice INV-000001"
    message.set_content("Please find the invoice attached.")
    message.add_attachment(b"%PDF-1.7\n", maintype="application", subtype="pdf", filename="a.pdf")
    return message


def test_an_accepted_message_is_one_eml_file_that_parses_back(outbox: OutboxServer) -> None:
    with smtplib.SMTP("127.0.0.1", outbox.port) as client:
        assert client.sock is not None
        client_port = client.sock.getsockname()[1]
        refused = client.send_message(_message("ap@buyer.example"))
    assert refused == {}
    [path] = outbox.files()
    assert path.suffix == ".eml"
    [stored] = outbox.messages()
    # A local delivery agent's trace on top, then the message as sent.
    assert stored["Return-Path"] == "<billing@seller.example>"
    assert stored["Delivered-To"] == "ap@buyer.example"
    # Received names the connection: the client's address and port (its own, not ours).
    [received] = stored.get_all("Received") or []
    assert f"([127.0.0.1]:{client_port}) by outbox.localhost with ESMTP id {path.stem};" in (
        " ".join(str(received).split())
    )
    assert stored["Subject"] == "Invoice INV-000001"
    [attachment] = list(stored.iter_attachments())
    assert attachment.get_filename() == "a.pdf"
    assert attachment.get_content() == b"%PDF-1.7\n"
    assert not list(outbox.folder.glob("*.part"))


@pytest.mark.parametrize(
    ("recipient", "code", "status"),
    [("bounce@buyer.example", 550, b"5.1.1"), ("busy@buyer.example", 451, b"4.3.0")],
)
def test_recipients_matching_a_pattern_are_refused(
    outbox: OutboxServer, recipient: str, code: int, status: bytes
) -> None:
    with smtplib.SMTP("127.0.0.1", outbox.port) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.send_message(_message(recipient))
    [(got_code, text)] = refused.value.recipients.values()
    assert got_code == code
    assert text.startswith(status) and recipient.encode() in text
    assert outbox.files() == []


def test_with_a_certificate_and_a_login_it_wants_starttls_then_auth(tmp_path: Path) -> None:
    with tls_relay(tmp_path, login="q2c:s3cret") as (server, ca_file):
        with smtplib.SMTP("127.0.0.1", server.port) as client:
            with pytest.raises(smtplib.SMTPSenderRefused) as plain:
                client.send_message(_message("ap@buyer.example"))
        assert plain.value.smtp_code == 530  # STARTTLS first
        context = ssl.create_default_context(cafile=str(ca_file))
        with smtplib.SMTP("127.0.0.1", server.port) as client:
            client.starttls(context=context)
            with pytest.raises(smtplib.SMTPAuthenticationError):
                client.login("q2c", "wrong")
            client.login("q2c", "s3cret")
            client.send_message(_message("ap@buyer.example"))
        assert len(server.files()) == 1


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--refuse-permanent", "("], "--refuse-permanent: '(' is not a regular expression"),
        (["--login", "q2c:pw"], "--login: needs --tls-cert and --tls-key"),
        (["--tls-cert", "x.pem"], "--tls-cert and --tls-key: give both or neither"),
    ],
)
def test_bad_options_stop_it_at_start_naming_the_option(argv: list[str], says: str) -> None:
    result = run_outbox("--port", "1", *argv)
    assert result.returncode != 0
    assert says in result.stderr
