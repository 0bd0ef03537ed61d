"""Reset a run as an engineer does with `temporal workflow reset --type FirstWorkflowTask`
(or `LastWorkflowTask`), through the client's workflow service: for the chaos run and the
tests that prove a reset run posts, delivers and charges nothing twice."""

import uuid
from typing import Literal

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import Client

ResetPoint = Literal["first", "last"]
"""The first workflow task (the run starts over, its signals re-applied) or the last one
(the run goes on from its latest decision point)."""


async def reset_run(
    client: Client, workflow_id: str, *, to: ResetPoint = "first", reason: str = "q2c reset"
) -> str:
    """Reset the current run of `workflow_id` to its first or last completed workflow task;
    the new run's id. The old run is terminated by the server."""
    handle = client.get_workflow_handle(workflow_id)
    completed = [
        event.event_id
        async for event in handle.fetch_history_events()
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    ]
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
        )
    )
    return str(response.run_id)
