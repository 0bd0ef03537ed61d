"""Worker Versioning from inside a run: a run about to wait for weeks stops being pinned to
the build that started it, so that a later deploy moves it on instead of keeping the old build
alive for it."""

import logging

import temporalio.api.workflowservice.v1 as ws
from google.protobuf.field_mask_pb2 import FieldMask
from temporalio import activity
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import VersioningBehavior
from temporalio.api.workflow.v1 import VersioningOverride, WorkflowExecutionOptions
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from schemas.versioning import FollowCurrentBuildInput

log = logging.getLogger("q2c.versioning")

_REFUSALS = frozenset(
    {
        RPCStatusCode.INVALID_ARGUMENT,
        RPCStatusCode.FAILED_PRECONDITION,
        RPCStatusCode.PERMISSION_DENIED,
        RPCStatusCode.UNIMPLEMENTED,
    }
)
"""Answers no retry changes (an old server, a key without the right): the run stays pinned."""


def auto_upgrade_request(
    namespace: str, workflow_id: str, run_id: str = ""
) -> ws.UpdateWorkflowExecutionOptionsRequest:
    """Temporal's auto-upgrade override for one run: its next workflow task, and every one
    after, goes to the deployment's current build."""
    override = VersioningOverride(
        auto_upgrade=True,
        behavior=VersioningBehavior.VERSIONING_BEHAVIOR_AUTO_UPGRADE,  # servers before 1.28
    )
    return ws.UpdateWorkflowExecutionOptionsRequest(
        namespace=namespace,
        workflow_execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
        workflow_execution_options=WorkflowExecutionOptions(versioning_override=override),
        update_mask=FieldMask(paths=["versioning_override"]),
    )


class VersioningActivities:
    """Registered on versioned workers only: an unversioned run never calls it."""

    def __init__(self, *, client: Client) -> None:
        self._client = client

    @activity.defn(name="follow_current_build")
    async def follow_current_build(self, input: FollowCurrentBuildInput) -> None:
        request = auto_upgrade_request(self._client.namespace, input.workflow_id, input.run_id)
        try:
            await self._client.workflow_service.update_workflow_execution_options(request)
        except RPCError as error:
            if error.status not in _REFUSALS:
                raise  # unreachable or busy: retried
            # The run waits pinned, as before; `q2c deploy advance` can still move it.
            log.warning("%s stays on its build: Temporal refused: %s", input.workflow_id, error)
