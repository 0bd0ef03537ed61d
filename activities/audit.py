"""The activities a workflow calls to record what no other activity sees: a handoff (an
approval decision and who made it, or the run's final state), and a person's input that the
run kept only cut, whole."""

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

from temporalio import activity
from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from schemas.audit import (
    SKIPPED_PREFIX,
    Handoff,
    HandoffInput,
    Outcome,
    SkippedContracts,
    Step,
    WholeInput,
    WholeInputRef,
)
from schemas.bounded import digest

SYSTEM_OF_STEP: dict[str, str] = {
    "validate_customer": "crm",
    "fetch_contract": "crm",
    "check_vat": "vies",
    "fetch_usage": "usage",
    "draft_invoice": "billing",
    "draft_amendment": "billing",
    "compute_tax": "tax",
    "fetch_route_history": "erp",
    "route": "billing",
    "post_invoice": "erp",
    "reconcile": "erp",
    "find_corrected_invoice": "erp",
    "deliver_document": "delivery",
    "send_email": "delivery",
    "send_peppol": "delivery",
    "notify": "webhook",
    Step.RECEIVED: "q2c",
    Step.APPROVAL: "approver",
    Step.OUTCOME: "q2c",
    Step.DISPUTE: "customer",
    Step.CALENDAR_SKIPPED: "crm",
}
"""Which system each step talks to (an activity by its type); q2c itself for any other."""


def system_of(step: str) -> str:
    return SYSTEM_OF_STEP.get(step, "q2c")


class HandoffRecorder(Protocol):
    def record(self, handoffs: Sequence[Handoff]) -> None: ...


class DiscardHandoffs:
    """For a worker without an audit store (tests of other parts)."""

    def record(self, handoffs: Sequence[Handoff]) -> None:
        pass


class InputKeeper(Protocol):
    def keep(self, whole: WholeInput) -> None: ...


INPUT_NOT_FOUND = "input_not_found"


def _sent(event: HistoryEvent, ref: WholeInputRef) -> Sequence[Payload] | None:
    """The payloads of `event` if it is the signal or accepted update `ref` names (a signal
    by its name; its hash is checked once decoded), else None."""
    if ref.kind == "signal" and event.HasField("workflow_execution_signaled_event_attributes"):
        signaled = event.workflow_execution_signaled_event_attributes
        return signaled.input.payloads if signaled.signal_name == ref.name else None
    if ref.kind == "update" and event.HasField(
        "workflow_execution_update_accepted_event_attributes"
    ):
        request = event.workflow_execution_update_accepted_event_attributes.accepted_request
        if request.meta.update_id == ref.update_id and request.input.name == ref.name:
            return request.input.args.payloads
    return None


class AuditActivities:
    def __init__(
        self,
        *,
        recorder: HandoffRecorder,
        client: Client | None = None,
        inputs: InputKeeper | None = None,
    ) -> None:
        self._recorder = recorder
        self._client = client
        self._inputs = inputs

    @activity.defn
    async def keep_whole_input(self, ref: WholeInputRef) -> None:
        """The input `ref` names, read whole from the run's own history through the worker's
        client (whose data converter decodes what the codec encrypted) and written to the
        audit trail: the history keeps it only until retention, the run only cut."""
        if self._client is None or self._inputs is None:
            return  # a worker without an audit store (tests of other parts)
        info = activity.info()
        workflow_id, run_id = info.workflow_id or "", info.workflow_run_id or ""
        handle = self._client.get_workflow_handle(workflow_id, run_id=run_id)
        codec = self._client.data_converter.payload_codec
        async for event in handle.fetch_history_events():
            sent = _sent(event, ref)
            if sent is None:
                continue
            payloads = await codec.decode(sent) if codec is not None else list(sent)
            data = payloads[0].data if payloads else b""
            sha256 = digest(data)
            if ref.kind == "signal" and sha256 != ref.sha256:
                continue
            which = ref.update_id if ref.kind == "update" else sha256
            whole = WholeInput(
                key=f"{workflow_id}/{ref.kind}/{ref.name}/{which}",
                workflow_id=workflow_id,
                run_id=run_id,
                kind=ref.kind,
                name=ref.name,
                update_id=ref.update_id,
                sha256=sha256,
                size=len(data),
                received_at=event.event_time.ToDatetime(tzinfo=UTC),
                data=data,
            )
            await asyncio.to_thread(self._inputs.keep, whole)
            return
        raise ApplicationError(
            f"no {ref.kind} {ref.name!r} of {ref.size} bytes "
            f"({ref.update_id or 'sha256 ' + ref.sha256}) in the history of {workflow_id}",
            type=INPUT_NOT_FOUND,
            non_retryable=True,
        )

    @activity.defn
    async def record_handoff(self, input: HandoffInput) -> None:
        info = activity.info()
        at = input.at or datetime.now(UTC)
        # One row per decision per run (its workflow id, and the occurrence for a step a run
        # may take more than once), however often this is retried or the run reset; one
        # outcome per execution, so a reset run's outcomes all stay on record and the report
        # takes the latest (ops/report/figures.py).
        key = f"{info.workflow_id}/{input.step}/{input.outcome}/{input.decided_by}"
        if input.occurrence:
            key += f"/{input.occurrence}"
        if input.step is Step.OUTCOME:
            key = f"{info.workflow_id}/{info.workflow_run_id}/{input.step}"
        handoff = Handoff(
            key=key,
            workflow_id=info.workflow_id or "",
            run_id=info.workflow_run_id or "",
            step=input.step,
            system=system_of(input.source_step or input.step),
            outcome=input.outcome,
            reason_code=input.reason_code,
            attempt=info.attempt,
            started_at=at,
            finished_at=at,
            decided_by=input.decided_by,
            detail=input.detail[:500],
        )
        await asyncio.to_thread(self._recorder.record, [handoff])

    @activity.defn
    async def record_skipped(self, input: SkippedContracts) -> None:
        """One row per skipped contract and fire day, its field and reason: a repeated page
        (a retry, a catch-up of the same day) writes nothing new."""
        info = activity.info()
        at = datetime.now(UTC)
        rows = [
            Handoff(
                key=f"{SKIPPED_PREFIX}{s.contract_id}/{input.day}/{s.field}",
                workflow_id=f"{SKIPPED_PREFIX}{s.contract_id}",
                run_id=info.workflow_run_id or "",
                step=Step.CALENDAR_SKIPPED,
                system=system_of(Step.CALENDAR_SKIPPED),
                outcome=Outcome.SKIPPED,
                reason_code=s.field,
                attempt=info.attempt,
                started_at=at,
                finished_at=at,
                detail=f"{input.calendar} on {input.day}: {s.reason}"[:500],
            )
            for s in input.skipped
        ]
        if rows:
            await asyncio.to_thread(self._recorder.record, rows)
