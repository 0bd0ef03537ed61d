"""Delivery of a posted document: by e-mail over SMTP, or to a Peppol access point.

Each delivery is keyed by the document's posting key in a delivery log in q2c's own
database, and goes in three steps: record the intent (with the Message-ID), send, record
that it was sent. What a retry finds in the log decides what it does:

    nothing        first attempt: record the intent, send, record `sent`
    `sent`         send nothing; return the logged delivery (`already_sent`)
    `sending`      an earlier attempt was cut off: before sending, while sending, or after
                   the server took the message but before `sent` was written (a crash, a
                   lost connection, a cancelled activity). q2c cannot tell which, so it
                   sends again, with the same Message-ID and Date. At worst the customer
                   gets the message twice, and the two are recognisably one (many mail
                   clients and archives treat a repeated Message-ID as one message). The
                   Peppol access point takes a repeat of the same document id as the same
                   transmission.
    `failed`       a permanent refusal before; a person fixed the address and the run
                   asked again: send again

A delivery is never skipped on a guess: a lost message is worse than a recognisable repeat.
"""

import asyncio
import base64
from datetime import UTC, datetime
from typing import Protocol

import httpx
from pydantic import AwareDatetime, BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.email_message import Sender, build_message, message_id_for
from activities.errors import TRANSIENT, permanent, raise_for_status
from activities.heartbeat import heartbeating
from activities.mailer import SmtpMailer
from activities.smtp import SmtpTarget
from schemas.delivery import (
    DeliveryInput,
    DeliveryRecord,
    DeliveryResult,
    SendEmailInput,
    SendPeppolInput,
)
from schemas.errors import ReasonCode


class DeliveryLog(Protocol):
    def find(self, key: str) -> DeliveryRecord | None: ...
    def begin(self, intent: DeliveryRecord) -> DeliveryRecord: ...
    def mark_sent(self, key: str, *, message_id: str, sent_at: datetime, reply: str) -> None: ...
    def mark_failed(self, key: str, *, reply: str) -> None: ...


class PeppolTransmission(BaseModel):
    """What the access point answers to an outbound document."""

    transmission_id: str
    document_id: str
    receiver_id: str
    received_at: AwareDatetime


class DeliveryActivities:
    def __init__(
        self,
        *,
        smtp: SmtpTarget | SmtpMailer,
        sender: Sender,
        peppol: httpx.AsyncClient,
        log: DeliveryLog,
    ) -> None:
        """`smtp`: a mailer keeps its connections from message to message (the worker's);
        a bare target opens a connection per message."""
        self._mailer = smtp if isinstance(smtp, SmtpMailer) else SmtpMailer(smtp, keep_open=False)
        self._sender = sender
        self._peppol = peppol
        self._log = log

    @activity.defn
    async def send_email(self, input: SendEmailInput) -> DeliveryResult:
        """Send the document by e-mail once per posting key (see the module's notes)."""
        async with heartbeating():
            return await self._send_email(input)

    @activity.defn
    async def send_peppol(self, input: SendPeppolInput) -> DeliveryResult:
        """Hand the UBL document to the Peppol access point once per posting key."""
        async with heartbeating():
            return await self._send_peppol(input)

    async def already_sent(self, key: str) -> DeliveryResult | None:
        """The logged delivery when `key` was sent before (a retry after the send), else
        None: what `send_email` or `send_peppol` would answer, before anything is built."""
        entry = await asyncio.to_thread(self._log.find, key)
        return _already_sent(entry) if entry is not None and entry.state == "sent" else None

    async def _begin(
        self, input: DeliveryInput, *, recipient: str, message_id: str
    ) -> DeliveryRecord:
        intent = DeliveryRecord(
            key=input.posting_key,
            channel="email" if isinstance(input, SendEmailInput) else "peppol",
            recipient=recipient,
            document_id=input.document_id,
            run_id=input.run_id,
            message_id=message_id,
            state="sending",
            intent_at=datetime.now(UTC),
        )
        return await asyncio.to_thread(self._log.begin, intent)

    async def _failed(self, key: str, error: ApplicationError) -> None:
        if error.non_retryable:
            await asyncio.to_thread(self._log.mark_failed, key, reply=error.message)

    async def _send_email(self, input: SendEmailInput) -> DeliveryResult:
        message_id = message_id_for(input.posting_key, domain=self._sender.domain)
        entry = await self._begin(input, recipient=input.recipient, message_id=message_id)
        if entry.state == "sent":
            return _already_sent(entry)
        message = build_message(
            input, sender=self._sender, message_id=message_id, date=entry.intent_at
        )
        try:
            reply = await self._mailer.send(
                message, sender=self._sender.address, recipient=input.recipient
            )
        except ApplicationError as error:
            await self._failed(input.posting_key, error)
            raise
        sent_at = datetime.now(UTC)
        await asyncio.to_thread(
            self._log.mark_sent,
            input.posting_key,
            message_id=message_id,
            sent_at=sent_at,
            reply=reply,
        )
        return DeliveryResult(
            channel="email",
            recipient=input.recipient,
            message_id=message_id,
            sent_at=sent_at,
            already_sent=False,
        )

    async def _send_peppol(self, input: SendPeppolInput) -> DeliveryResult:
        entry = await self._begin(input, recipient=input.recipient, message_id="")
        if entry.state == "sent":
            return _already_sent(entry)
        request = {
            "document_id": input.document_id,
            "document_type": input.document_type,
            "receiver_id": input.recipient,
            "content_type": input.document.content_type,
            "document": base64.b64encode(input.document.content).decode("ascii"),
        }
        response = await self._peppol.post("/peppol/outbound", json=request)
        try:
            raise_for_status(response, system="peppol")
            transmission = PeppolTransmission.model_validate(response.json())
        except ApplicationError as error:
            if error.non_retryable and error.type != ReasonCode.CONFIGURATION:
                error = permanent(
                    ReasonCode.DELIVERY_FAILED,
                    f"the Peppol access point refused {input.document_id} for "
                    f"{input.recipient}: {error.message}",
                )
            await self._failed(input.posting_key, error)
            raise error from None
        except ValueError as error:  # pydantic's ValidationError, or JSON that is not
            # A 2xx we cannot read: the document may be on its way; a retry resends it
            # under the same document id, which the access point takes as the same one.
            raise ApplicationError(
                f"the Peppol access point's answer is unreadable: {error}", type=TRANSIENT
            ) from None
        await asyncio.to_thread(
            self._log.mark_sent,
            input.posting_key,
            message_id=transmission.transmission_id,
            sent_at=transmission.received_at,
            reply=f"{response.status_code} {transmission.transmission_id}",
        )
        return DeliveryResult(
            channel="peppol",
            recipient=input.recipient,
            message_id=transmission.transmission_id,
            sent_at=transmission.received_at,
            already_sent=False,
        )


def _already_sent(entry: DeliveryRecord) -> DeliveryResult:
    assert entry.sent_at is not None
    return DeliveryResult(
        channel=entry.channel,
        recipient=entry.recipient,
        message_id=entry.message_id,
        sent_at=entry.sent_at,
        already_sent=True,
    )
