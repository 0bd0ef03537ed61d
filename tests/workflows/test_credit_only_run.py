"""A termination on the time-skipping server: the amendment bills only a credit note, which
names the invoice it corrects (BT-25) in every document sent, and the run settles Refunded
with the credit kept as the customer's balance; nothing waits for a payment."""

import io
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from facturx import get_xml_from_pdf
from temporalio.testing import WorkflowEnvironment

from billing.einvoice import validate
from schemas.runs import RunInput, RunState, RunStatus
from tests.conftest import SystemsService, running_systems
from tests.events import amended, cycle_closed
from tests.workflows.runs import worker_on
from workflows.quote_to_cash import QuoteToCashWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")

UBL = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
}
CII = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
}


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SystemsService]:
    with running_systems(tmp_path_factory.mktemp("credit-only")) as service:
        yield service


@pytest.fixture
async def queue(time_skipping_env: WorkflowEnvironment, own: SystemsService) -> AsyncIterator[str]:
    task_queue = f"q2c-credit-only-{uuid.uuid4()}"
    async with worker_on(time_skipping_env, own, task_queue):
        yield task_queue


async def _get(own: SystemsService, path: str, **params: Any) -> Any:
    async with own.client() as http:
        response = await http.get(path, params=params)
        response.raise_for_status()
        return response.json()


async def _put(own: SystemsService, path: str, body: dict[str, Any]) -> None:
    async with own.client() as http:
        response = await http.put(path, json=body)
        assert response.status_code in (200, 201), response.text


async def _globex_copy(own: SystemsService) -> tuple[str, dict[str, Any]]:
    """A customer of the test's own like Globex (CU-1002), on C-1002's terms: a 1,200.00 EUR
    platform fee in advance, seats in arrears."""
    suffix = uuid.uuid4().hex[:8].upper()
    customer = await _get(own, "/crm/customers/CU-1002")
    customer.update(id=f"CU-T{suffix}")
    contract = await _get(own, "/crm/contracts/C-1002", as_of="2026-01-01")
    contract.update(id=f"C-T{suffix}", customer_id=customer["id"])
    await _put(own, f"/crm/customers/{customer['id']}", customer)
    await _put(own, f"/crm/contracts/{contract['id']}", contract)
    return str(customer["id"]), contract


async def test_a_termination_settles_refunded_and_its_documents_name_the_invoice(
    time_skipping_env: WorkflowEnvironment, own: SystemsService, queue: str
) -> None:
    customer_id, contract = await _globex_copy(own)
    contract_id = contract["id"]
    september = await time_skipping_env.client.execute_workflow(
        QuoteToCashWorkflow.run,
        RunInput(event=cycle_closed(contract_id, 9), collect=False),
        id=f"test-credit-only:{contract_id}:september",
        task_queue=queue,
    )
    assert september.state is RunState.DELIVERED, september.reason
    [invoice] = september.documents
    # The platform fee ends on 2026-10-16: the rest of October's fee comes back.
    ended = {**contract, "effective_from": "2026-10-16"}
    ended["charges"] = [c for c in contract["charges"] if c["kind"] == "usage"]
    await _put(own, f"/crm/contracts/{contract_id}", ended)
    result: RunStatus = await time_skipping_env.client.execute_workflow(
        QuoteToCashWorkflow.run,
        RunInput(event=amended(contract_id, date(2026, 10, 16), date(2026, 11, 1)), collect=True),
        id=f"test-credit-only:{contract_id}:termination",
        task_queue=queue,
    )

    assert result.state is RunState.REFUNDED, result.reason
    [note] = result.documents
    assert note.document_type == "credit_note"
    assert note.corrects == invoice.erp_document_id
    collection = result.collection
    assert collection is not None
    # Nothing to collect: the whole credit stays with the customer.
    assert (collection.amount_due, collection.credit_balance) == (Decimal(0), note.invoice.total)
    assert [e.action for e in collection.timeline] == ["credit_balance"]
    assert collection.card_attempts == 0
    intents = await _get(own, "/payments/payment_intents", customer=customer_id)
    assert intents == []

    # BT-25 in what was sent: the UBL's BillingReference and the Factur-X XML's
    # InvoiceReferencedDocument name the corrected invoice, and both pass the official rules.
    assert own.outbox is not None
    [message] = [m for m in own.outbox.messages() if note.erp_document_id in str(m["Subject"])]
    files = {a.get_filename(): a.get_payload(decode=True) for a in message.iter_attachments()}
    ubl = files[f"{note.erp_document_id}.xml"]
    assert isinstance(ubl, bytes)
    assert validate(ubl).ok, validate(ubl).failed
    root = ET.fromstring(ubl)
    assert root.tag.endswith("}CreditNote")
    reference = root.findtext(
        "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID", namespaces=UBL
    )
    assert reference == invoice.erp_document_id
    pdf = files[f"{note.erp_document_id}.pdf"]
    assert isinstance(pdf, bytes)
    _, cii = get_xml_from_pdf(io.BytesIO(pdf), check_xsd=True)
    assert validate(cii).ok, validate(cii).failed
    referenced = ET.fromstring(cii).findtext(
        ".//ram:InvoiceReferencedDocument/ram:IssuerAssignedID", namespaces=CII
    )
    assert referenced == invoice.erp_document_id
