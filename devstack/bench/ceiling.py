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

SHAPE: tuple[tuple[str, bool], ...] = (
    ("validate_customer", False),
    ("fetch_usage", False),
    ("draft_invoice", True),
    ("compute_tax", True),
    ("fetch_route_history", False),
    ("route", True),
    ("post_invoice", False),
    ("reconcile", False),
    ("deliver_document", False),
    ("record_handoff", False),
)
"""The steps of a straight-through QuoteToCash run that is not collecting, in order, each
with whether q2c runs it as a local activity: the ceiling does the same steps as no-ops, so
a phase q2c gains (delivery, the outcome's audit record) is a step the ceiling gains too."""

STEPS = len(SHAPE)
SHORT_STEPS = sum(local for _, local in SHAPE)
"""Draft, tax and route: q2c's short steps (in-process rules), its local activities."""

CEILING_TASK_QUEUE = "q2c-bench-ceiling"

log = logging.getLogger("q2c.bench.ceiling")


@activity.defn(name="BenchNoop")
async def noop(step: int) -> int:
    return step


@dataclass(frozen=True)
class CeilingPlan:
    steps: int = STEPS
    local: int = 0
    """How many of q2c's short steps, first ones first, run as local activities: with
    SHORT_STEPS, the ceiling has the history shape of a q2c run."""


@workflow.defn(name="BenchCeiling")
class CeilingWorkflow:
    @workflow.run
    async def run(self, plan: CeilingPlan) -> int:
        timeout = timedelta(seconds=30)
        short = 0
        for step, (_, local) in enumerate(SHAPE[: plan.steps]):
            if local and short < plan.local:
                short += 1
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
    sticky_schedule_to_start_seconds: float = 10.0,
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
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=sticky_schedule_to_start_seconds),
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
        sticky_schedule_to_start_seconds=settings.sticky_schedule_to_start_seconds,
    )
    await run_ceiling_worker(worker)
