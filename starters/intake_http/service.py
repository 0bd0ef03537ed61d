"""What the intake does with one valid event: start its run, or record it, or dead-letter it.

An event is accepted only once it is durable: its run started (or found already started), its
payment delivered to the run or kept as unapplied cash, or the event stored as a dead letter.
Anything else is an error the sender sees and retries.
"""

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TypeVar

from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError, RPCStatusCode

from schemas.events import EVENT_ADAPTER, ContractEvent, workflow_id_for
from schemas.payment_events import PAYMENT_EVENT_ADAPTER, PaymentEvent, owner_workflow_id
from schemas.wire import PAYMENT_TYPES, InternalEvent
from starters.intake import EventConflict, event_digest, start_run
from starters.intake_http import payments
from starters.intake_http.store import DeadLetter, IntakeStore, UnappliedCash

_T = TypeVar("_T")
ContractCheck = Callable[[str], Awaitable[str | bool | None]]
"""Whether the CRM knows a contract id: False when it does not; its customer id (or True)
when it does, for the run's summary; None when it cannot tell (then the run checks)."""
InvoiceDirectory = Callable[[str], Awaitable[str | None]]
"""The posting key of an ERP document number, or None when the ERP has no such document."""

# Codes the sender should retry after a pause: Temporal is down, busy or slow.
_RETRY = {
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
    RPCStatusCode.CANCELLED,
    RPCStatusCode.UNKNOWN,
    RPCStatusCode.INTERNAL,
    RPCStatusCode.ABORTED,
}


class Outcome(StrEnum):
    STARTED = "started"
    DUPLICATE = "duplicate"
    DEAD_LETTERED = "dead_lettered"
    DELIVERED = "delivered"
    UNAPPLIED = "unapplied"


class Unavailable(RuntimeError):
    """Temporal (or the store) could not be reached: nothing was accepted, retry later."""


class Conflict(RuntimeError):
    """The business key is taken by another event with other content."""

    def __init__(self, message: str, *, workflow_id: str, existing: str, new: str) -> None:
        super().__init__(message)
        self.workflow_id = workflow_id
        self.existing_event = existing
        self.new_event = new


@dataclass(frozen=True)
class Accepted:
    event_id: str
    event_type: str
    outcome: Outcome
    workflow_id: str
    message: str
    dead_letter_id: int | None = None
    unapplied_id: int | None = None


def _dump(event: InternalEvent) -> str:
    return json.dumps(event.model_dump(mode="json"), sort_keys=True)


def load_event(text: str) -> InternalEvent:
    data = json.loads(text)
    if data.get("type") in PAYMENT_TYPES:
        return PAYMENT_EVENT_ADAPTER.validate_python(data)
    return EVENT_ADAPTER.validate_python(data)


@dataclass
class Intake:
    client: Client
    store: IntakeStore
    task_queue: str
    approval_timeout_seconds: int = 7 * 24 * 3600
    temporal_timeout_seconds: float = 10.0
    contracts: ContractCheck | None = None
    invoices: InvoiceDirectory | None = None

    async def accept(self, event: InternalEvent, *, source: str, webhook_id: str) -> Accepted:
        if event.type in PAYMENT_TYPES:
            return await self._payment(event, source=source, webhook_id=webhook_id)  # type: ignore[arg-type]
        return await self._contract(event, source=source, webhook_id=webhook_id)  # type: ignore[arg-type]

    async def redrive(self, letter_id: int) -> Accepted:
        """Try a dead letter again; it closes when its run starts (or had started)."""
        letter = await asyncio.to_thread(self.store.get_dead_letter, letter_id)
        if letter is None:
            raise LookupError(f"no dead letter {letter_id}")
        event = load_event(letter.event)
        try:
            result = await self.accept(event, source=letter.source, webhook_id=letter.webhook_id)
        except Conflict as error:
            await asyncio.to_thread(self.store.redriven, letter_id, outcome=str(error), done=True)
            raise
        done = result.outcome is not Outcome.DEAD_LETTERED
        await asyncio.to_thread(self.store.redriven, letter_id, outcome=result.message, done=done)
        return result

    async def _temporal(self, call: Awaitable[_T]) -> _T:
        try:
            return await asyncio.wait_for(call, self.temporal_timeout_seconds)
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
            raise Unavailable(
                f"Temporal did not answer in {self.temporal_timeout_seconds:g}s"
            ) from None
        except RPCError as error:
            if error.status in _RETRY:
                raise Unavailable(f"Temporal: {error.message}") from None
            raise

    async def _contract(self, event: ContractEvent, *, source: str, webhook_id: str) -> Accepted:
        workflow_id = workflow_id_for(event)
        known = await self.contracts(event.contract_id) if self.contracts is not None else None
        if known is False:
            return await self._dead_letter(
                event,
                workflow_id=workflow_id,
                source=source,
                webhook_id=webhook_id,
                reason="unknown_contract",
                detail=f"the CRM has no contract {event.contract_id}",
            )
        try:
            started = await self._temporal(
                start_run(
                    self.client,
                    event,
                    task_queue=self.task_queue,
                    approval_timeout_seconds=self.approval_timeout_seconds,
                    collect=True,
                    customer_id=known if isinstance(known, str) else "",
                )
            )
        except EventConflict as error:
            raise Conflict(
                str(error),
                workflow_id=workflow_id,
                existing=error.existing_event,
                new=error.new_event,
            ) from None
        except RPCError as error:
            return await self._dead_letter(
                event,
                workflow_id=workflow_id,
                source=source,
                webhook_id=webhook_id,
                reason="start_refused",
                detail=f"Temporal refused the start: {error.status.name}: {error.message}",
            )
        return Accepted(
            event_id=event.event_id,
            event_type=event.type,
            outcome=Outcome.STARTED if started.started else Outcome.DUPLICATE,
            workflow_id=workflow_id,
            message=started.message,
        )

    async def _dead_letter(
        self,
        event: ContractEvent,
        *,
        workflow_id: str,
        source: str,
        webhook_id: str,
        reason: str,
        detail: str,
    ) -> Accepted:
        letter = DeadLetter(
            key=f"{workflow_id}:{event_digest(event)}",
            created_at=datetime.now(UTC),
            source=source,
            webhook_id=webhook_id,
            event_id=event.event_id,
            event_type=event.type,
            workflow_id=workflow_id,
            reason=reason,
            detail=detail[:500],
            event=_dump(event),
        )
        letter_id = await asyncio.to_thread(self.store.dead_letter, letter)
        return Accepted(
            event_id=event.event_id,
            event_type=event.type,
            outcome=Outcome.DEAD_LETTERED,
            workflow_id=workflow_id,
            message=f"dead letter {letter_id}: {reason}: {detail}",
            dead_letter_id=letter_id,
        )

    async def _owner(self, event: PaymentEvent) -> str | None:
        """The workflow id of the run that posted the invoice, if that run exists."""
        posting_key = event.posting_key
        if posting_key is None and event.invoice_number and self.invoices is not None:
            posting_key = await self.invoices(event.invoice_number)
        if posting_key is None:
            return None
        workflow_id = owner_workflow_id(posting_key)
        try:
            await self._temporal(self.client.get_workflow_handle(workflow_id).describe())
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return None
            raise Unavailable(f"Temporal: {error.message}") from None
        return workflow_id

    async def _payment(self, event: PaymentEvent, *, source: str, webhook_id: str) -> Accepted:
        owner = await self._owner(event)
        update = payments.update_for(event)
        refused = ""
        if owner is not None and update in payments.RUN_HANDLERS:
            try:
                await self._temporal(payments.deliver(self.client, owner, event))
            except WorkflowUpdateFailedError as error:
                # The run takes no payment now (it ended, or it does not collect): the
                # money is kept as unapplied cash with the run's reason.
                refused = str(error.cause or error)
            else:
                return Accepted(
                    event_id=event.event_id,
                    event_type=event.type,
                    outcome=Outcome.DELIVERED,
                    workflow_id=owner,
                    message=f"delivered to {owner} as {update}",
                )
        reason = "no_owner" if owner is None else "refused" if refused else "no_handler"
        row = UnappliedCash(
            business_key=event.business_key,
            digest=event_digest(event),
            received_at=datetime.now(UTC),
            source=source,
            webhook_id=webhook_id,
            event_id=event.event_id,
            event_type=event.type,
            posting_key=event.posting_key or "",
            invoice_number=event.invoice_number or "",
            workflow_id=owner or "",
            amount=format(event.amount.amount, "f"),
            currency=event.amount.currency,
            reason=reason,
            event=_dump(event),
        )
        stored = await asyncio.to_thread(self.store.unapplied, row)
        if stored.digest != row.digest:
            raise Conflict(
                f"{event.business_key} was recorded from event {stored.event_id}; event "
                f"{event.event_id} has the same business key with a different payload and was "
                "refused",
                workflow_id=stored.workflow_id,
                existing=stored.event_id,
                new=event.event_id,
            )
        why = (
            "no run owns the invoice"
            if owner is None
            else f"{owner} refused it: {refused}"
            if refused
            else f"{owner} has no {update} handler"
        )
        return Accepted(
            event_id=event.event_id,
            event_type=event.type,
            outcome=Outcome.UNAPPLIED,
            workflow_id=owner or "",
            message=f"kept as unapplied cash {stored.id}: {why}",
            unapplied_id=stored.id,
        )
