"""Sending e-mail over SMTP connections kept open from message to message.

Opening a connection (TCP, greeting, EHLO, STARTTLS and login on a relay) costs more than
the message's own MAIL, RCPT and DATA, so a worker keeps a few connections open and sends
one message at a time on each. The safeguards:

- a kept connection whose server hung up while it was idle (seen at its first command:
  disconnected, reset, or 421 "closing") is reopened and the message sent once on the new
  one; a failure later in the transaction is the message's, mapped as any other;
- a refusal (a 4xx or 5xx to MAIL, RCPT or DATA) is followed by RSET, so the connection
  can carry the next message; one that cannot reset is closed;
- a connection idle longer than `max_idle_seconds` is closed rather than reused (servers
  and firewalls drop idle ones, some silently);
- `aclose` says QUIT on each kept connection (the worker calls it when it stops).
"""

import asyncio
import socket
import ssl
import time
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from types import TracebackType

import aiosmtplib

from activities.smtp import SmtpTarget, smtp_error, tls_context

_CLOSING = 421  # RFC 5321 4.2.3: the server is closing the connection


class _Stale(Exception):
    """A kept connection the server had closed, found at its first command."""


class SmtpMailer:
    """Sends to one SMTP target; with `keep_open`, over up to `connections` connections
    kept from message to message, else over a connection per message."""

    def __init__(
        self,
        target: SmtpTarget,
        *,
        keep_open: bool = True,
        connections: int = 3,
        max_idle_seconds: float = 30.0,
    ) -> None:
        if connections < 1:
            raise ValueError(f"connections: at least 1, not {connections}")
        self.target = target
        self._keep_open = keep_open
        self._max_idle = max_idle_seconds
        self._slots = asyncio.Semaphore(connections)
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []  # with when it became idle
        self._tls: ssl.SSLContext | None = None
        self._hostname: str | None = None
        self._closed = False

    async def __aenter__(self) -> "SmtpMailer":
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def send(self, message: EmailMessage, *, sender: str, recipient: str) -> str:
        """Send `message` from `sender` to `recipient` (the envelope: its headers are not
        read again); the server's reply to DATA, or the taxonomy's error."""
        try:
            async with self._slots:
                client = self._take_idle()
                if client is not None:
                    try:
                        return await self._send_on(client, message, sender, recipient, kept=True)
                    except _Stale:
                        pass  # reopened below, and the message sent once on the new one
                client = await self._connect()
                return await self._send_on(client, message, sender, recipient, kept=False)
        except (aiosmtplib.SMTPException, OSError) as error:
            raise smtp_error(error, target=self.target, recipient=str(message["To"])) from None

    async def aclose(self) -> None:
        """QUIT on each kept connection; a message sent after this opens its own."""
        self._closed = True
        idle, self._idle = self._idle, []
        await asyncio.gather(*(_quit(client) for client, _ in idle))

    def _take_idle(self) -> aiosmtplib.SMTP | None:
        while self._idle:
            client, since = self._idle.pop()  # the most recent: the least likely dropped
            if client.is_connected and time.monotonic() - since < self._max_idle:
                return client
            client.close()
        return None

    async def _connect(self) -> aiosmtplib.SMTP:
        target = self.target
        if self._tls is None:
            self._tls = tls_context(target)  # loads the CA bundle: once, not per message
        if self._hostname is None:
            self._hostname = await asyncio.to_thread(socket.getfqdn)  # may ask DNS
        client = aiosmtplib.SMTP(
            hostname=target.host,
            port=target.port,
            use_tls=target.security == "tls",
            start_tls=target.security == "starttls",
            tls_context=self._tls,
            username=target.username or None,
            password=target.password.get_secret_value() or None,
            timeout=target.timeout_seconds,
            local_hostname=self._hostname,
        )
        await client.connect()
        return client

    async def _send_on(
        self,
        client: aiosmtplib.SMTP,
        message: EmailMessage,
        sender: str,
        recipient: str,
        *,
        kept: bool,
    ) -> str:
        try:
            reply = await _transaction(
                client, message, sender=sender, recipient=recipient, kept=kept
            )
        except aiosmtplib.SMTPResponseException:
            await self._put_back(client)  # reset after the refusal: still usable
            raise
        except BaseException:  # hung up, timed out, cancelled: its state is unknown
            client.close()
            raise
        await self._put_back(client)
        return reply

    async def _put_back(self, client: aiosmtplib.SMTP) -> None:
        if not client.is_connected:
            return
        if self._keep_open and not self._closed:
            self._idle.append((client, time.monotonic()))
        else:
            await _quit(client)


async def _transaction(
    client: aiosmtplib.SMTP, message: EmailMessage, *, sender: str, recipient: str, kept: bool
) -> str:
    """MAIL, RCPT and DATA for one recipient; the reply to DATA. The message is flattened
    once, as the server's extensions ask (8BITMIME, SMTPUTF8, SIZE)."""
    utf8 = not (sender.isascii() and recipient.isascii())
    if utf8 and not client.supports_extension("smtputf8"):
        raise aiosmtplib.SMTPNotSupported(
            "an address is not ASCII and the server does not offer SMTPUTF8"
        )
    eight_bit = client.supports_extension("8bitmime")
    policy = SMTPUTF8 if utf8 else SMTP
    flat = message.as_bytes(policy=policy if eight_bit else policy.clone(cte_type="7bit"))
    options = [f"SIZE={len(flat)}"] if client.supports_extension("size") else []
    options += ["BODY=8BITMIME"] if eight_bit else []
    options += ["SMTPUTF8"] if utf8 else []
    encoding = "utf-8" if utf8 else "ascii"
    try:
        await client.mail(sender, options=options, encoding=encoding)
    except ConnectionError as error:  # aiosmtplib's SMTPServerDisconnected is one
        if kept:
            raise _Stale() from error
        raise
    except aiosmtplib.SMTPResponseException as error:
        if kept and error.code == _CLOSING:
            client.close()
            raise _Stale() from error
        await _reset(client)
        raise
    try:
        await client.rcpt(recipient, encoding=encoding)
        return (await client.data(flat)).message
    except aiosmtplib.SMTPResponseException:
        await _reset(client)
        raise


async def _reset(client: aiosmtplib.SMTP) -> None:
    """RSET after a refusal; a connection that cannot even do that is closed."""
    try:
        await client.rset()
    except (aiosmtplib.SMTPException, OSError):
        client.close()


async def _quit(client: aiosmtplib.SMTP) -> None:
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError):
        pass  # it is being closed anyway
    finally:
        client.close()
