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
