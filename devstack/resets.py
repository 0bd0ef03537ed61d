"""Reset a run as an engineer does with `temporal workflow reset --type FirstWorkflowTask`
(or `LastWorkflowTask`), through the client's workflow service: for the chaos run and the
tests that prove a reset run posts, delivers and charges nothing twice."""

import uuid
from typing import Literal

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, ResetReapplyExcludeType
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import Client

_SIGNALS = ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL

ResetPoint = Literal["first", "last", "before-signal"]
"""The first workflow task (the run starts over, its signals re-applied), the last one (the
run goes on from its latest decision point), or the last one before its first signal (a
decision, such as a rejection, taken back)."""


async def reset_run(
    client: Client,
    workflow_id: str,
    *,
    to: ResetPoint = "first",
    reason: str = "q2c reset",
    reapply_signals: bool = True,
) -> str:
    """Reset the current run of `workflow_id` to a completed workflow task (`to`); the new
    run's id. The old run is terminated by the server. Without `reapply_signals`, the
    signals after the reset point are dropped (`--reapply-exclude Signal`)."""
    handle = client.get_workflow_handle(workflow_id)
    completed: list[int] = []
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            if to == "before-signal":
                break
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            completed.append(event.event_id)
    if not completed:
        raise ValueError(f"{workflow_id}: no completed workflow task to reset to")
    run_id = (await handle.describe()).run_id
    response = await client.workflow_service.reset_workflow_execution(
        ResetWorkflowExecutionRequest(
            namespace=client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
            reason=reason,
            workflow_task_finish_event_id=completed[0] if to == "first" else completed[-1],
            request_id=str(uuid.uuid4()),
            reset_reapply_exclude_types=[] if reapply_signals else [_SIGNALS],
        )
    )
    return str(response.run_id)
