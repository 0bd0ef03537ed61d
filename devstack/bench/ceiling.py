"""The ceiling: a workflow as long as a straight-through q2c run whose activities do nothing.

Whatever it reaches on a stack is what the server, the SDK and the machine allow; q2c's burst
is measured against it.
"""

import asyncio
import logging
import signal
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

# The worker's process parts, not the workflow's: the sandbox takes them as they are.
with workflow.unsafe.imports_passed_through():
    from workers.client import connect
    from workers.settings import Settings

STEPS = 8
"""Activities in a straight-through QuoteToCash run: validate, usage, draft, tax, route,
post, reconcile, deliver (the last on the task queue, as q2c's `deliver_document`)."""

LOCAL_FROM = 2
"""Where local steps begin: draft, tax and route, q2c's short steps (two in-process, one
ERP read)."""

CEILING_TASK_QUEUE = "q2c-bench-ceiling"

log = logging.getLogger("q2c.bench.ceiling")


@activity.defn(name="BenchNoop")
async def noop(step: int) -> int:
    return step


@dataclass(frozen=True)
class CeilingPlan:
    steps: int = STEPS
    local: int = 0
    """How many steps, from LOCAL_FROM on, run as local activities: the proposed q2c change
    measured on its ceiling."""


@workflow.defn(name="BenchCeiling")
class CeilingWorkflow:
    @workflow.run
    async def run(self, plan: CeilingPlan) -> int:
        timeout = timedelta(seconds=30)
        for step in range(plan.steps):
            if LOCAL_FROM <= step < LOCAL_FROM + plan.local:
                await workflow.execute_local_activity(noop, step, start_to_close_timeout=timeout)
            else:
                await workflow.execute_activity(noop, step, start_to_close_timeout=timeout)
        return plan.steps


def build_ceiling_worker(
    client: Client,
    *,
    task_queue: str,
    max_concurrent_activities: int,
    max_concurrent_workflow_tasks: int,
    max_cached_workflows: int,
    workflow_task_pollers: int,
    activity_task_pollers: int,
) -> Worker:
    """Tuned with the same knobs as the q2c worker so the two compare like for like."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[CeilingWorkflow],
        activities=[noop],
        max_concurrent_activities=max_concurrent_activities,
        max_concurrent_workflow_tasks=max_concurrent_workflow_tasks,
        max_cached_workflows=max_cached_workflows,
        max_concurrent_workflow_task_polls=workflow_task_pollers,
        max_concurrent_activity_task_polls=activity_task_pollers,
    )


async def run_ceiling_worker(worker: Worker) -> None:
    """Poll until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with worker:
        log.info("ceiling worker polling %r", worker.task_queue)
        await stop.wait()


async def serve(settings: Settings) -> None:
    """The ceiling's worker process, tuned by the same settings as q2c's."""
    worker = build_ceiling_worker(
        await connect(),
        task_queue=CEILING_TASK_QUEUE,
        max_concurrent_activities=settings.max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        max_cached_workflows=settings.max_cached_workflows,
        workflow_task_pollers=settings.workflow_task_pollers,
        activity_task_pollers=settings.activity_task_pollers,
    )
    await run_ceiling_worker(worker)
