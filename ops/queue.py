"""The approvers' queue (`q2c queue`), the same list the UI shows for
`Q2CStatus = "AwaitingApproval"` or `"Disputed"`, with each run's age, reasons and due time."""

import asyncio
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field
from temporalio.client import Client, WorkflowExecution, WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from ops.query_failure import query_failure
from schemas.bounded import cut
from schemas.runs import RunState, RunStatus
from schemas.views import run_link
from workflows import search_attributes as sa

QUEUE_QUERY = (
    f'{sa.Q2C_STATUS.name} = "{RunState.AWAITING_APPROVAL.value}" OR '
    f'{sa.Q2C_STATUS.name} = "{RunState.DISPUTED.value}"'
)
"""Runs awaiting an approver's decision, and disputed runs awaiting a resolution."""
STATUS_CONCURRENCY = 16
QUERY_TIMEOUT = timedelta(seconds=5)
"""A run whose worker is down cannot answer; the row then shows what visibility knows."""


class QueueItem(BaseModel):
    workflow_id: str
    customer_id: str = ""
    total: str = ""
    currency: str = ""
    risk_level: str = ""
    waiting_since: datetime
    age_seconds: int
    due_at: datetime | None = None
    reasons: list[str] = Field(default_factory=list, description="code: sentence")
    approvers: list[str] = Field(default_factory=list)
    approvals: str = Field(default="", description="given/needed")
    refused: int = 0
    note: str = Field(default="", description="Why the status could not be read, if so")
    link: str = Field(
        default="", description="The run's page in the Web UI, when its address is known"
    )


async def fetch_queue(
    client: Client,
    *,
    limit: int = 500,
    query_timeout: timedelta = QUERY_TIMEOUT,
    concurrency: int = STATUS_CONCURRENCY,
    ui_url: str = "",
) -> list[QueueItem]:
    """Every run awaiting approval, oldest first; reads each run's `status` query.

    Once a query on a task queue times out, no worker is answering there: the queue's other
    runs are not asked, so a stopped worker costs one timeout, not one per run. With the
    Web UI's address, each item links its run's page."""
    executions = [execution async for execution in client.list_workflows(QUEUE_QUERY, limit=limit)]
    gate = asyncio.Semaphore(concurrency)
    silent: set[str] = set()
    now = datetime.now(UTC)

    async def one(execution: WorkflowExecution) -> QueueItem:
        async with gate:
            item = await _item(client, execution, now, query_timeout, silent)
            if ui_url:
                item.link = run_link(ui_url, execution.id, execution.run_id or "")
            return item

    items = await asyncio.gather(*(one(e) for e in executions))
    return sorted(items, key=lambda item: item.waiting_since)


async def _item(
    client: Client,
    execution: WorkflowExecution,
    now: datetime,
    query_timeout: timedelta,
    silent: set[str],
) -> QueueItem:
    attributes = execution.typed_search_attributes
    total = attributes.get(sa.INVOICE_TOTAL)
    item = QueueItem(
        workflow_id=execution.id,
        customer_id=attributes.get(sa.CUSTOMER_ID) or "",
        total="" if total is None else f"{total:.2f}",
        risk_level=attributes.get(sa.RISK_LEVEL) or "",
        waiting_since=execution.start_time,
        age_seconds=int((now - execution.start_time).total_seconds()),
        due_at=attributes.get(sa.APPROVAL_DUE_AT),
    )
    if execution.task_queue in silent:
        item.note = f"status not asked: no worker answered on task queue {execution.task_queue!r}"
        return item
    try:
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        status: RunStatus = await handle.query(
            "status", result_type=RunStatus, rpc_timeout=query_timeout
        )
    except RPCError as error:
        if error.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
            silent.add(execution.task_queue)
        item.note = f"status unavailable (is a worker running?): {cut(error.message)}"
        return item
    except WorkflowQueryFailedError as error:  # the workflow's own failure, decoded
        item.note = f"status query failed: {cut(await query_failure(client.data_converter, error))}"
        return item
    except Exception as error:  # one run's failing query is that run's row, not the queue's
        item.note = f"status query failed: {type(error).__name__}: {cut(str(error))}"
        return item
    item.total = "" if status.total is None else str(status.total)
    item.currency = status.currency
    item.reasons = [f"{r.code}: {r.message}" for r in status.route_reasons]
    collection = status.collection
    if collection is not None and collection.dispute is not None:
        dispute = collection.dispute
        item.reasons = [f"disputed: {dispute.reason}"]
        item.waiting_since = dispute.opened_at
        item.age_seconds = int((now - dispute.opened_at).total_seconds())
        item.due_at = collection.due_at
        return item
    item.refused = max(status.refused_count, len(status.refused))
    approval = status.approval
    if approval is not None:
        item.waiting_since = approval.waiting_since
        item.age_seconds = int((now - approval.waiting_since).total_seconds())
        item.due_at = approval.due_at
        item.approvers = approval.approvers
        item.approvals = f"{len(approval.approved_by)}/{approval.approvals_needed}"
    return item
