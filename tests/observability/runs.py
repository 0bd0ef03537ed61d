"""Start one billing run against the systems service and wait for its result."""

import uuid
from datetime import UTC, date, datetime

from temporalio.client import Client

from schemas.events import BillingCycleClosed
from schemas.runs import RunInput, RunStatus
from workflows.quote_to_cash import QuoteToCashWorkflow


def event(contract_id: str, month: int) -> BillingCycleClosed:
    return BillingCycleClosed(
        type="billing_cycle.closed",
        event_id=f"evt-{uuid.uuid4()}",
        schema_version=1,
        occurred_at=datetime(2026, 12, 1, tzinfo=UTC),
        contract_id=contract_id,
        period_start=date(2026, month, 1),
        period_end=date(2026 + month // 12, month % 12 + 1, 1),
    )


async def run_to_end(
    client: Client, *, contract_id: str, month: int, task_queue: str
) -> tuple[str, RunStatus]:
    workflow_id = f"obs:{contract_id}:{month}:{uuid.uuid4()}"
    status = await client.execute_workflow(
        QuoteToCashWorkflow.run,
        RunInput(event=event(contract_id, month)),
        id=workflow_id,
        task_queue=task_queue,
    )
    return workflow_id, status
