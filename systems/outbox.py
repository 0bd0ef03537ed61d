"""The customer's inbox: a real SMTP server (aiosmtpd) that writes each message it accepts
to a folder as an `.eml` file.

`python -m systems.outbox --port 8425 --folder .q2c/outbox` serves it on its own. It can
refuse on request, as a real mail server does: a recipient matching `--refuse-permanent`
gets `550 5.1.1` (no such mailbox), one matching `--refuse-temporary` gets `451 4.3.0`
(try again later). With `--tls-cert`/`--tls-key` it requires STARTTLS, and with `--login
USER:PASSWORD` it requires AUTH (over TLS only), like a production relay.
"""

import argparse
import asyncio
import logging
import os
import re
import secrets
import ssl
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

log = logging.getLogger("systems.outbox")

DEFAULT_PORT = 8425


@dataclass(frozen=True)
class Refusals:
    """Recipient patterns (searched, case-insensitive) the server refuses at RCPT TO."""

    permanent: re.Pattern[str] | None = None
    temporary: re.Pattern[str] | None = None

    def reply_for(self, address: str) -> str | None:
        if self.permanent is not None and self.permanent.search(address):
            return f"550 5.1.1 <{address}>: Recipient address rejected: mailbox unavailable"
        if self.temporary is not None and self.temporary.search(address):
            return f"451 4.3.0 <{address}>: Recipient address deferred: try again later"
        return None


class OutboxHandler:
    """aiosmtpd hooks: refuse the recipients asked for, store every accepted message."""

    def __init__(self, *, folder: Path, refusals: Refusals | None = None) -> None:
        self.folder = folder
        self.refusals = refusals or Refusals()

    async def handle_RCPT(  # aiosmtpd calls its hooks by these names
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        del server, session, rcpt_options
        refusal = self.refusals.reply_for(address)
        if refusal is not None:
            log.info("refused %s: %s", address, refusal)
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(  # aiosmtpd calls its hooks by these names
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        del server
        now = datetime.now(UTC)
        name = f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{uuid.uuid4().hex[:8]}"
        # What a receiving MTA and a local delivery agent put on top: the connection the
        # message came over (its peer), the envelope sender and recipients.
        peer = session.peer if isinstance(session.peer, tuple) else (session.peer, "")
        trace = (
            f"Return-Path: <{envelope.mail_from or ''}>\r\n"
            + "".join(f"Delivered-To: {rcpt}\r\n" for rcpt in envelope.rcpt_tos)
            + f"Received: from {session.host_name} ([{peer[0]}]:{peer[1]})\r\n"
            + f"\tby outbox.localhost with ESMTP id {name}; {format_datetime(now)}\r\n"
        )
        # In the loop, not a thread: writing ~100 KB to the page cache costs less than
        # handing it to a thread and taking the GIL back.
        path = self._write(name, trace.encode() + (envelope.original_content or b""))
        log.info("stored a message for %s as %s", ", ".join(envelope.rcpt_tos), path.name)
        return f"250 2.0.0 Ok: queued as {name}"

    def _write(self, name: str, message: bytes) -> Path:
        path = self.folder / f"{name}.eml"
        partial = path.with_suffix(".eml.part")
        try:
            partial.write_bytes(message)
        except FileNotFoundError:  # the first message, or the folder was removed
            self.folder.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(message)
        os.replace(partial, path)  # a reader never sees half a message
        return path


class Login:
    """AUTH PLAIN/LOGIN against one user and password."""

    def __init__(self, *, user: str, password: str) -> None:
        self._user = user.encode()
        self._password = password.encode()

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        del server, session, envelope, mechanism
        ok = (
            isinstance(auth_data, LoginPassword)
            and secrets.compare_digest(auth_data.login, self._user)
            and secrets.compare_digest(auth_data.password, self._password)
        )
        # handled=False: aiosmtpd answers a failure itself (535).
        return AuthResult(success=ok, handled=False)


@dataclass(frozen=True)
class OutboxSettings:
    folder: Path
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    refusals: Refusals = Refusals()
    tls: ssl.SSLContext | None = None
    login: Login | None = None


def smtp_factory(settings: OutboxSettings) -> SMTP:
    handler = OutboxHandler(folder=settings.folder, refusals=settings.refusals)
    return SMTP(
        handler,
        hostname="outbox.localhost",
        tls_context=settings.tls,
        require_starttls=settings.tls is not None,
        authenticator=settings.login,
        auth_required=settings.login is not None,
    )


async def serve(settings: OutboxSettings, *, started: asyncio.Event | None = None) -> None:
    """Accept mail until cancelled."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: smtp_factory(settings), host=settings.host, port=settings.port
    )
    log.info("outbox on %s:%s writing to %s", settings.host, settings.port, settings.folder)
    if started is not None:
        started.set()
    async with server:
        await server.serve_forever()


def _pattern(option: str, value: str | None) -> re.Pattern[str] | None:
    if not value:
        return None
    try:
        return re.compile(value, re.IGNORECASE)
    except re.error as error:
        raise SystemExit(f"{option}: {value!r} is not a regular expression: {error}") from None


def _tls(cert: str | None, key: str | None) -> ssl.SSLContext | None:
    if not cert and not key:
        return None
    if not (cert and key):
        raise SystemExit("--tls-cert and --tls-key: give both or neither")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def _login(value: str | None, *, tls: bool) -> Login | None:
    if not value:
        return None
    user, colon, password = value.partition(":")
    if not (user and colon and password):
        raise SystemExit("--login: expected USER:PASSWORD")
    if not tls:
        raise SystemExit("--login: needs --tls-cert and --tls-key (no password in clear)")
    return Login(user=user, password=password)


def settings_from(argv: list[str] | None = None) -> OutboxSettings:
    home = Path(os.environ.get("Q2C_HOME", ".q2c"))
    parser = argparse.ArgumentParser(prog="python -m systems.outbox", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("Q2C_OUTBOX_HOST", "127.0.0.1"))
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("Q2C_OUTBOX_PORT", DEFAULT_PORT))
    )
    parser.add_argument("--folder", type=Path, default=home / "outbox")
    parser.add_argument("--refuse-permanent", metavar="REGEX", help="recipients answered 550")
    parser.add_argument("--refuse-temporary", metavar="REGEX", help="recipients answered 451")
    parser.add_argument("--tls-cert", help="PEM certificate: require STARTTLS")
    parser.add_argument("--tls-key", help="PEM key of --tls-cert")
    parser.add_argument("--login", metavar="USER:PASSWORD", help="require AUTH with these")
    args = parser.parse_args(argv)
    tls = _tls(args.tls_cert, args.tls_key)
    return OutboxSettings(
        folder=args.folder,
        host=args.host,
        port=args.port,
        refusals=Refusals(
            permanent=_pattern("--refuse-permanent", args.refuse_permanent),
            temporary=_pattern("--refuse-temporary", args.refuse_temporary),
        ),
        tls=tls,
        login=_login(args.login, tls=tls is not None),
    )


def main(argv: list[str] | None = None) -> None:
    settings = settings_from(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command
    try:
        asyncio.run(serve(settings))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
