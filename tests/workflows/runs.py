"""What the workflow tests share: a production worker on the systems service, and a run's
status polled until a condition holds."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.audit import HandoffRecorder
from billing.routing import RoutingPolicy
from schemas.runs import RunStatus
from tests.conftest import SystemsService
from workers.settings import Settings
from workers.worker import build_worker
from workflows.quote_to_cash import QuoteToCashWorkflow

Handle = WorkflowHandle[QuoteToCashWorkflow, RunStatus]


@asynccontextmanager
async def worker_on(
    env: WorkflowEnvironment,
    systems: SystemsService,
    task_queue: str,
    *,
    policy: RoutingPolicy | None = None,
    audit: HandoffRecorder | None = None,
) -> AsyncIterator[None]:
    """A worker on `task_queue` calling `systems` (its HTTP systems, SMTP outbox and delivery
    log), with the shipped policy unless given another, and the audit trail if given one."""
    settings = Settings(task_queue=task_queue, systems_url=systems.url, smtp_url=systems.smtp_url)
    async with systems.client() as http:
        async with build_worker(
            env.client,
            settings=settings,
            http=http,
            delivery_log=systems.delivery_log,
            policy=policy,
            audit=audit,
        ):
            yield


async def until(handle: Handle, check: Callable[[RunStatus], bool]) -> RunStatus:
    """The run's status once `check` holds; fails after 20 s of polling."""
    status: RunStatus | None = None
    for _ in range(400):
        status = await handle.query(QuoteToCashWorkflow.status)
        if check(status):
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"condition never held: {status}")
