"""The calendar's write side: start one billing run per due period, from an activity.

Each run is started with the client under the business-key id an event sent by hand gets
(`schemas.events.workflow_id_for`), and an existing id is refused by the server: a period
closed by hand, by an earlier fire, or by this activity's previous attempt is never billed
twice. Started from an activity rather than as child workflows, the runs' completions never
land in the fan-out's history. Progress is heartbeated, so a retry after a worker crash goes
on from the last run started.
"""

import asyncio
import time

from temporalio import activity
from temporalio.client import Client
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

import workflows.search_attributes as sa
from schemas.calendar import SCHEDULED_MEMO, DuePeriod, StartRunsInput, StartRunsResult
from schemas.events import BillingCycleClosed, ContractRenewed, workflow_id_for
from schemas.runs import RunInput, RunState
from workflows.quote_to_cash import QuoteToCashWorkflow

IN_FLIGHT = 16
"""Start calls under way at once; progress is heartbeated after each group."""


def scheduled_close(due: DuePeriod, input: StartRunsInput) -> BillingCycleClosed | ContractRenewed:
    """The close (or, at a term's end, the renewal) the calendar sends; its id names the
    calendar, the key is the period's."""
    period = f"{due.period_start}:{due.period_end}"
    if due.reason == "renewal":
        return ContractRenewed(
            type="contract.renewed",
            event_id=f"calendar:{due.contract_id}:renewal:{period}",
            schema_version=1,
            occurred_at=input.fired_at,
            contract_id=due.contract_id,
            period_start=due.period_start,
            period_end=due.period_end,
        )
    return BillingCycleClosed(
        type="billing_cycle.closed",
        event_id=f"calendar:{due.contract_id}:{period}",
        schema_version=1,
        occurred_at=input.fired_at,
        contract_id=due.contract_id,
        period_start=due.period_start,
        period_end=due.period_end,
    )


class RunStarter:
    def __init__(self, *, client: Client) -> None:
        self._client = client

    @activity.defn
    async def start_runs(self, input: StartRunsInput) -> StartRunsResult:
        """At most `starts_per_second`, in order, `IN_FLIGHT` start calls at a time (one
        call's round trip would otherwise bound the rate); an existing run counts as a
        duplicate."""
        details = activity.info().heartbeat_details
        done, result = (
            (int(details[0]), StartRunsResult.model_validate(details[1]))
            if len(details) == 2
            else (0, StartRunsResult())
        )
        gap = 1.0 / input.starts_per_second
        next_at = time.monotonic()
        for first in range(done, len(input.due), IN_FLIGHT):
            chunk = input.due[first : first + IN_FLIGHT]
            delay = next_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            next_at = max(next_at + gap * len(chunk), time.monotonic())
            started = await asyncio.gather(*(self._start(due, input) for due in chunk))
            result.started += sum(started)
            result.duplicates += len(chunk) - sum(started)
            activity.heartbeat(first + len(chunk), result.model_dump())
        return result

    async def _start(self, due: DuePeriod, input: StartRunsInput) -> bool:
        """True when this call started the run; False when it existed already."""
        event = scheduled_close(due, input)
        try:
            await self._client.start_workflow(
                QuoteToCashWorkflow.run,
                RunInput(event=event, collect=input.collect),
                id=workflow_id_for(event),
                task_queue=input.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                memo={"event_id": event.event_id, SCHEDULED_MEMO: "calendar"},
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(sa.Q2C_STATUS, RunState.RECEIVED.value),
                        SearchAttributePair(sa.CONTRACT_ID, event.contract_id),
                    ]
                ),
            )
        except WorkflowAlreadyStartedError:
            return False
        return True
