"""Runs that may bill the same fees, looked up by their business-key ids.

A contract's activation and its first close may overlap (an activation awaiting approval
when the period closes); a renewal and a close may name the same period. Each asks Temporal
for the other, so the fees are billed by exactly one of them (workflows/quote_to_cash.py,
`activation-settled` and `renewal-once`). Held by the worker because it needs its client.

A run that retention has deleted from Temporal is still in the ERP if it posted: its
invoice's posting key is its workflow id. So a run Temporal no longer knows is looked up
there, and found posted.
"""

from datetime import UTC

import httpx
from temporalio import activity
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from activities.errors import raise_for_status
from activities.paths import segment
from billing.rating import RatingError, billing_calendar
from schemas.contract import Contract
from schemas.events import key_prefix
from schemas.journal import Posting
from schemas.runs import RunStatus
from schemas.steps import FindFirstPeriodRunInput, FindRunInput, FirstPeriodRun, FoundRun


def first_period_ids(contract: Contract, reason: str) -> list[str]:
    """The ids a run of `reason` for the first period can have: an event names the period
    from the contract's start or from the calendar period's start (a close sent by the
    calendar names the latter)."""
    period = billing_calendar(contract).containing(contract.start_date)
    starts = dict.fromkeys([contract.start_date, period.start])
    return [f"q2c:{key_prefix(contract.id, reason)}{start}:{period.end}" for start in starts]


class RunLookup:
    def __init__(self, *, client: Client, erp: httpx.AsyncClient) -> None:
        """`erp`: the systems client the ERP is read with."""
        self._client = client
        self._erp = erp

    @activity.defn
    async def find_first_period_run(self, input: FindFirstPeriodRunInput) -> FirstPeriodRun:
        try:
            ids = first_period_ids(input.contract, input.reason)
            calendar = billing_calendar(input.contract)
            first = calendar.containing(input.contract.start_date)
            if input.as_of is not None and calendar.containing(input.as_of) != first:
                return FirstPeriodRun()  # a later period: the first period's fees are no matter
        except (RatingError, ValueError):
            return FirstPeriodRun()  # no calendar: the run itself says why
        for workflow_id in ids:
            found = await self._find(workflow_id)
            if found.workflow_id:
                # The asking run's own posting: a run reset to its first task after it
                # posted must go on with its invoice, not leave its fees to this one.
                return FirstPeriodRun(
                    workflow_id=found.workflow_id,
                    open=found.open,
                    posted=found.posted,
                    posted_by_caller=await self._document(activity.info().workflow_id),
                )
        return FirstPeriodRun()

    @activity.defn
    async def find_run(self, input: FindRunInput) -> FoundRun:
        return await self._find(input.workflow_id)

    async def _find(self, workflow_id: str) -> FoundRun:
        """Open, or ended having posted a document (its result names the ERP's ids)."""
        # The raw answer: the SDK's `describe` decodes every search attribute, and the
        # time-skipping server's datetime attributes fail to decode.
        request = DescribeWorkflowExecutionRequest(
            namespace=self._client.namespace,
            execution=WorkflowExecution(workflow_id=workflow_id),
        )
        try:
            described = await self._client.workflow_service.describe_workflow_execution(request)
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return await self._posted(workflow_id)
            raise
        info = described.workflow_execution_info
        found = FoundRun(workflow_id=workflow_id, started_at=info.start_time.ToDatetime(tzinfo=UTC))
        if info.status == WorkflowExecutionStatus.RUNNING.value:
            found.open = True
        elif info.status == WorkflowExecutionStatus.COMPLETED.value:
            handle = self._client.get_workflow_handle(workflow_id, result_type=RunStatus)
            status = await handle.result()
            found.posted = any(document.erp_document_id for document in status.documents)
        return found

    async def _posted(self, workflow_id: str) -> FoundRun:
        """A run Temporal does not know (never started, or deleted by retention): posted when
        the ERP holds its invoice, under its workflow id as the posting key."""
        posting = await self._posting(workflow_id)
        if posting is None:
            return FoundRun()
        return FoundRun(workflow_id=workflow_id, posted=True, started_at=posting.posted_at)

    async def _document(self, workflow_id: str | None) -> str:
        """The ERP document the run posted under its id (its posting key); empty if none."""
        posting = await self._posting(workflow_id) if workflow_id else None
        return posting.erp_document_id if posting is not None else ""

    async def _posting(self, workflow_id: str) -> Posting | None:
        response = await self._erp.get(f"/erp/postings/{segment(workflow_id)}")
        if response.status_code == 404:
            return None
        raise_for_status(response, system="erp")
        return Posting.model_validate(response.json())
