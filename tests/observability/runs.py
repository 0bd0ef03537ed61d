"""Start one billing run against the systems service and wait for its result."""

import uuid

from temporalio.client import Client

from schemas.runs import RunInput, RunStatus
from tests.events import cycle_closed
from workflows.quote_to_cash import QuoteToCashWorkflow


async def run_to_end(
    client: Client, *, contract_id: str, month: int, task_queue: str
) -> tuple[str, RunStatus]:
    workflow_id = f"obs:{contract_id}:{month}:{uuid.uuid4()}"
    status = await client.execute_workflow(
        QuoteToCashWorkflow.run,
        RunInput(event=cycle_closed(contract_id, month), collect=False),
        id=workflow_id,
        task_queue=task_queue,
    )
    return workflow_id, status
