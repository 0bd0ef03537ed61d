"""Chaos's last check: every history the faults produced replays with today's code.

Kills, restarts and resets make the server deliver a run's events to a worker in ways a
calm run never sees (a cold worker rebuilding a run from its whole history, an update
arriving while it does). A history the code cannot replay is a run that fails its next
workflow task, or its next query, however its invoice came out; each one is kept as a file
that `q2c replay` reads, so the failure can be studied after the stack is gone.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from temporalio.api.enums.v1 import EventType, TimeoutType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter

from ops.replay import WORKFLOWS, replay


@dataclass(frozen=True, kw_only=True)
class NotReplayed:
    workflow_id: str
    run_id: str
    detail: str
    kept: Path


def _file_name(workflow_id: str, run_id: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in workflow_id)
    return f"{safe}.{run_id}.json"


async def histories_not_replayed(
    client: Client,
    *,
    task_queue: str,
    folder: Path,
    converter: DataConverter,
    workflows: Sequence[type] = WORKFLOWS,
) -> tuple[int, list[NotReplayed]]:
    """(histories replayed, those that failed), every run on `task_queue`, a reset's old
    run included; a failed one is written to `folder`."""
    # The run id comes from the listing: a reset run's history begins with its first run's
    # started event, so `WorkflowHistory.run_id` names the first run for both.
    runs: dict[str, tuple[str, WorkflowHistory]] = {}
    async for execution in client.list_workflows(f'TaskQueue="{task_queue}"'):
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        history = await handle.fetch_history()
        runs[f"{execution.id}/{execution.run_id}"] = (execution.run_id, history)
    outcomes = await replay(
        ((source, history) for source, (_, history) in runs.items()),
        workflows=workflows,
        converter=converter,
    )
    failed: list[NotReplayed] = []
    for outcome in outcomes:
        if outcome.ok:
            continue
        run_id, history = runs[outcome.source]
        folder.mkdir(parents=True, exist_ok=True)
        kept = folder / _file_name(outcome.workflow_id, run_id)
        kept.write_text(history.to_json())
        where = f"event {outcome.event_id}: " if outcome.event_id is not None else ""
        failed.append(
            NotReplayed(
                workflow_id=outcome.workflow_id,
                run_id=run_id,
                detail=f"{where}{outcome.error}",
                kept=kept,
            )
        )
    return len(runs), failed


def _what(event: HistoryEvent) -> str:
    """The part of an event that tells commands apart: the activity, marker or update, and
    for an accepted update the event its request was sequenced after."""
    kind = event.WhichOneof("attributes")
    if kind is None:
        return ""
    attributes = getattr(event, kind)
    if kind == "activity_task_scheduled_event_attributes":
        return str(attributes.activity_type.name)
    if kind == "marker_recorded_event_attributes":
        return str(attributes.marker_name)
    if kind == "workflow_execution_update_accepted_event_attributes":
        request = attributes.accepted_request
        return (
            f"{request.input.name} {attributes.protocol_instance_id} "
            f"sequenced after {attributes.accepted_request_sequencing_event_id}"
        )
    if kind == "workflow_execution_update_completed_event_attributes":
        return str(attributes.meta.update_id)
    if kind == "workflow_task_failed_event_attributes":
        return str(WorkflowTaskFailedCause.Name(attributes.cause))
    if kind == "workflow_task_timed_out_event_attributes":
        return str(TimeoutType.Name(attributes.timeout_type))
    return ""


def outline(history: WorkflowHistory) -> list[str]:
    """One short line per event, payloads left out: enough to see where a replay parted from
    the history when only a test's output survives (CI)."""
    lines = []
    for event in history.events:
        name = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
        lines.append(f"{event.event_id} {name} {_what(event)}".rstrip())
    return lines
