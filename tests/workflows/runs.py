"""What the workflow tests share: a production worker on the systems service, and a run's
status polled until a condition holds."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from activities.audit import HandoffRecorder, InputKeeper
from billing.routing import RoutingPolicy
from schemas.events import ContractEvent
from schemas.runs import RunStatus
from starters.intake import run_handle, start_run
from tests.conftest import SystemsService
from tests.waiting import eventually
from workers.settings import Settings
from workers.worker import build_worker
from workflows.quote_to_cash import QuoteToCashWorkflow

Handle = WorkflowHandle[QuoteToCashWorkflow, RunStatus]

Line = tuple[str, str, date | None, date | None]


def billed_lines(status: RunStatus) -> list[Line]:
    """Each line of the run's documents: charge, amount, service period."""
    return [
        (line.charge_id, str(line.amount), line.period_start, line.period_end)
        for document in status.documents
        for line in document.invoice.lines
    ]


async def run_to_end(env: WorkflowEnvironment, event: ContractEvent, task_queue: str) -> RunStatus:
    """The status `event`'s run ends in, started without collection."""
    outcome = await start_run(env.client, event, task_queue=task_queue, collect=False)
    status: RunStatus = await run_handle(env.client, outcome.workflow_id).result()
    return status


@asynccontextmanager
async def worker_on(
    env: WorkflowEnvironment,
    systems: SystemsService,
    task_queue: str,
    *,
    policy: RoutingPolicy | None = None,
    audit: HandoffRecorder | None = None,
    inputs: InputKeeper | None = None,
) -> AsyncIterator[None]:
    """A worker on `task_queue` calling `systems` (its HTTP systems, SMTP outbox and delivery
    log), with the shipped policy unless given another, and the audit trail (its handoffs,
    its whole inputs) if given one."""
    settings = Settings(task_queue=task_queue, systems_url=systems.url, smtp_url=systems.smtp_url)
    async with systems.client() as http:
        async with build_worker(
            env.client,
            settings=settings,
            http=http,
            delivery_log=systems.delivery_log,
            policy=policy,
            audit=audit,
            inputs=inputs,
        ):
            yield


async def until(
    handle: Handle, check: Callable[[RunStatus], bool], *, within: float = 20.0
) -> RunStatus:
    """The run's status once `check` holds; fails loudly, with the last status, at the
    deadline (`within` seconds of polling)."""
    last: list[RunStatus] = []

    async def probe() -> RunStatus | None:
        status = await handle.query(QuoteToCashWorkflow.status)
        last[:] = [status]
        return status if check(status) else None

    try:
        return await eventually(probe, what=f"{handle.id}: condition", within=within)
    except AssertionError as error:
        raise AssertionError(f"{error}; last status: {last[0] if last else None}") from None


async def deleted(client: Client, workflow_id: str) -> None:
    """The run deleted as retention deletes it, then gone from the server."""
    execution = WorkflowExecution(workflow_id=workflow_id)
    request = DeleteWorkflowExecutionRequest(
        namespace=client.namespace, workflow_execution=execution
    )
    await client.workflow_service.delete_workflow_execution(request)

    async def gone() -> bool | None:
        try:
            await client.get_workflow_handle(workflow_id).describe()
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return True
            raise
        return None

    await eventually(gone, what=f"{workflow_id} deleted", within=60)
