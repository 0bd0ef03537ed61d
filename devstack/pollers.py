"""Waiting for workers: a run started before any worker polls only waits for one to boot."""

import asyncio
import time

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client


async def wait_for_pollers(
    client: Client, task_queue: str, *, count: int = 1, timeout: float = 60.0
) -> None:
    """Until `count` distinct workers poll the queue for workflow tasks."""
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = await client.workflow_service.describe_task_queue(request)
        if len({poller.identity for poller in described.pollers}) >= count:
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{count} worker(s) did not poll {task_queue!r} within {timeout}s")
