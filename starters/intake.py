"""From a contract event to a started run, exactly once per business key."""

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from schemas.calendar import SCHEDULED_MEMO
from schemas.events import EVENT_ADAPTER, ContractEvent, workflow_id_for
from schemas.runs import RunInput, RunState, RunStatus
from schemas.wire import InternalEvent
from starters.summary import run_details, run_summary
from workflows import search_attributes as sa
from workflows.quote_to_cash import QuoteToCashWorkflow


class EventError(ValueError):
    """The event does not validate; every problem names its field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class EventConflict(RuntimeError):
    """The business key already has a run, started by a different event payload."""

    def __init__(self, *, workflow_id: str, existing_event: str, new_event: str) -> None:
        super().__init__(
            f"{workflow_id} was started by event {existing_event}; event {new_event} has the "
            "same business key with a different payload and was refused"
        )
        self.workflow_id = workflow_id
        self.existing_event = existing_event
        self.new_event = new_event


class AlreadyBilled(EventConflict):
    """The calendar's scheduled run billed (or is billing) the period an event sent by hand
    names: the hand-sent event starts nothing. A conflict still (intake 409, exit 3)."""

    def __init__(
        self, *, workflow_id: str, existing_event: str, new_event: str, period: str, state: str
    ) -> None:
        RuntimeError.__init__(
            self,
            f"{period} was already billed by the scheduled run {workflow_id} (started by the "
            f"billing calendar, event {existing_event}; its state: {state or 'unknown'}); "
            f"event {new_event} started nothing",
        )
        self.workflow_id = workflow_id
        self.existing_event = existing_event
        self.new_event = new_event
        self.state = state


def _scheduled(memo: Mapping[str, Any]) -> bool:
    return memo.get(SCHEDULED_MEMO) == "calendar" or str(memo.get("event_id", "")).startswith(
        "calendar:"
    )


@dataclass(frozen=True)
class StartOutcome:
    workflow_id: str
    started: bool
    message: str


def parse_event(raw: str | bytes | dict[str, Any]) -> ContractEvent:
    try:
        if isinstance(raw, dict):
            return EVENT_ADAPTER.validate_python(raw)
        return EVENT_ADAPTER.validate_json(raw)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            if item["type"] == "union_tag_invalid":
                tag = _cut(repr(item["ctx"]["tag"]), limit=40)
                problems.append(f"type: {tag} is not one of: {item['ctx']['expected_tags']}")
                continue
            # Drop the union tag pydantic puts first so the path reads like the JSON.
            loc = [str(p) for p in item["loc"]]
            if loc and "." in loc[0] and not loc[0].startswith("function"):
                loc = loc[1:]
            loc = [p for p in loc if not p.startswith("function-")]
            message = _cut(str(item["msg"]).removeprefix("Value error, "))
            problems.append(f"{'.'.join(loc) or 'event'}: {message}")
        raise EventError(problems) from None


def _cut(message: str, limit: int = 300) -> str:
    """A message names the field and the reason; an input it quotes is cut short."""
    return message if len(message) <= limit else f"{message[:limit]}… ({len(message)} characters)"


def event_digest(event: InternalEvent) -> str:
    """What tells a redelivery (same digest) from another event with the same key."""
    payload = json.dumps(event.model_dump(mode="json"), sort_keys=True).encode()
    return hashlib.sha256(payload).hexdigest()


async def start_run(
    client: Client,
    event: ContractEvent,
    *,
    task_queue: str,
    approval_timeout_seconds: int = 7 * 24 * 3600,
    reminder_seconds: int | None = None,
    collect: bool = True,
    customer_id: str = "",
) -> StartOutcome:
    """Start the run for the event's business key; a redelivered event starts nothing.
    `reminder_seconds` overrides the policy's reminder delay (None: the policy's); the run goes
    on into collection after posting (docs/collections.md) unless `collect` is False. The run
    starts with a summary for the Web UI (starters/summary.py); `customer_id`, when the caller
    knows it, goes into it."""
    workflow_id = workflow_id_for(event)
    digest = event_digest(event)
    try:
        await client.start_workflow(
            QuoteToCashWorkflow.run,
            RunInput(
                event=event,
                approval_timeout_seconds=approval_timeout_seconds,
                reminder_seconds=reminder_seconds,
                collect=collect,
            ),
            id=workflow_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            memo={"event_id": event.event_id, "event_digest": digest},
            static_summary=run_summary(event, customer_id=customer_id),
            static_details=run_details(event, customer_id=customer_id),
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(sa.Q2C_STATUS, RunState.RECEIVED.value),
                    SearchAttributePair(sa.CONTRACT_ID, event.contract_id),
                ]
            ),
        )
    except WorkflowAlreadyStartedError:
        described = await client.get_workflow_handle(workflow_id).describe()
        values = await described.memo()
        if values.get("event_digest") != digest and _scheduled(values):
            raise AlreadyBilled(
                workflow_id=workflow_id,
                existing_event=str(values.get("event_id", "?")),
                new_event=event.event_id,
                period=f"the period {event.period_start} to {getattr(event, 'period_end', '?')} "
                f"of contract {event.contract_id}",
                state=described.typed_search_attributes.get(sa.Q2C_STATUS) or "",
            ) from None
        if values.get("event_digest") != digest:
            raise EventConflict(
                workflow_id=workflow_id,
                existing_event=str(values.get("event_id", "?")),
                new_event=event.event_id,
            ) from None
        return StartOutcome(
            workflow_id=workflow_id,
            started=False,
            message=f"event {event.event_id} was already received: {workflow_id} exists, "
            "nothing new started",
        )
    return StartOutcome(workflow_id=workflow_id, started=True, message=f"started {workflow_id}")


def run_handle(client: Client, workflow_id: str) -> WorkflowHandle[Any, RunStatus]:
    return client.get_workflow_handle(workflow_id, result_type=RunStatus)
