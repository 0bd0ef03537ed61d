"""A delivered run's documents, rendered again: the same bytes the customer received.

The run's status names its documents; its history holds what each `deliver_document` call
was given (the posted invoice, the ERP number and issue date, the customer and contract as
the run read them). Rendering is deterministic, so rendering those inputs again gives the
documents that were sent, whatever the CRM says today.
"""

import asyncio
from pathlib import Path

from temporalio.client import Client

from activities.documents import render_input
from billing.tax import Seller
from schemas.delivery import DeliverDocumentInput
from schemas.runs import RunStatus


class RunDocumentsError(ValueError):
    """The run cannot give its documents; the message says why."""


async def delivery_inputs(client: Client, workflow_id: str) -> list[DeliverDocumentInput]:
    """What each document's delivery was given, in the run's order (dunning messages left
    out: they carry the same documents)."""
    handle = client.get_workflow_handle(workflow_id)
    status: RunStatus = await handle.query("status", result_type=RunStatus)
    if not any(d.erp_document_id for d in status.documents):
        raise RunDocumentsError(f"{workflow_id} has posted no document ({status.state.value})")
    inputs: list[DeliverDocumentInput] = []
    async for event in handle.fetch_history_events():
        if not event.HasField("activity_task_scheduled_event_attributes"):
            continue
        scheduled = event.activity_task_scheduled_event_attributes
        if scheduled.activity_type.name != "deliver_document":
            continue
        [given] = await client.data_converter.decode(
            scheduled.input.payloads, [DeliverDocumentInput]
        )
        if given.purpose == "document":
            inputs.append(given)
    if not inputs:
        raise RunDocumentsError(
            f"{workflow_id} ended {status.state.value} without a delivery phase "
            "(posted before it): its documents were never rendered"
        )
    return inputs


async def write_run_documents(
    client: Client, workflow_id: str, *, out: Path, seller: Seller
) -> list[Path]:
    """`<number>.xml` (UBL), `<number>.cii.xml` and `<number>.pdf` per document in `out`."""
    written: list[Path] = []
    out.mkdir(parents=True, exist_ok=True)
    for given in await delivery_inputs(client, workflow_id):
        rendered = await asyncio.to_thread(render_input, given, seller=seller)
        for suffix, content in ((".xml", rendered.ubl), (".cii.xml", rendered.cii)):
            written.append(out / f"{rendered.file_stem}{suffix}")
            written[-1].write_bytes(content)
        written.append(out / f"{rendered.file_stem}.pdf")
        written[-1].write_bytes(rendered.pdf)
    return written
