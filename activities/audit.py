"""The one activity a workflow calls to record a handoff that no other activity sees:
an approval decision and who made it, or the run's final state."""

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

from temporalio import activity

from schemas.audit import (
    SKIPPED_PREFIX,
    Handoff,
    HandoffInput,
    Outcome,
    SkippedContracts,
    Step,
)

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


class AuditActivities:
    def __init__(self, *, recorder: HandoffRecorder) -> None:
        self._recorder = recorder

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
