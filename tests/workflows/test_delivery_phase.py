"""The run's delivery phase against the real systems service, the outbox SMTP server and
the Peppol access point stand-in, in the time-skipping environment."""

import hashlib
import io
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from facturx import get_xml_from_pdf
from temporalio.testing import WorkflowEnvironment

from activities.delivery import DeliveryActivities
from activities.documents import DocumentActivities, InThread
from activities.email_message import Sender
from activities.smtp import parse_smtp_url
from billing.einvoice import validate
from billing.tax import Seller
from ops.documents import write_run_documents
from schemas.contract import Contract
from schemas.customer import Customer
from schemas.delivery import DeliverDocumentInput
from schemas.runs import RunInput, RunState, RunStatus
from tests.conftest import SystemsService, running_systems
from tests.events import cycle_closed
from tests.own_contracts import copy_contract
from tests.workflows.runs import worker_on
from workflows import search_attributes as sa
from workflows.quote_to_cash import QuoteToCashWorkflow

T = TypeVar("T")

pytestmark = pytest.mark.asyncio(loop_scope="session")

UBL_NS = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}


def message_id(posting_key: str) -> str:
    """docs/delivery.md: `<q2c.` + 32 hex digits of SHA-256(posting key) + `@` + the
    sender's domain (Q2C_SMTP_SENDER's default, billing@q2c.example) + `>`."""
    return f"<q2c.{hashlib.sha256(posting_key.encode()).hexdigest()[:32]}@q2c.example>"


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SystemsService]:
    """Systems, outbox and delivery log of this module alone: each message found is ours."""
    with running_systems(tmp_path_factory.mktemp("deliver")) as service:
        yield service


@pytest.fixture
async def queue(time_skipping_env: WorkflowEnvironment, own: SystemsService) -> AsyncIterator[str]:
    task_queue = f"q2c-deliver-{uuid.uuid4()}"
    async with worker_on(time_skipping_env, own, task_queue):
        yield task_queue


async def _run(
    env: WorkflowEnvironment, queue: str, contract_id: str, month: int, *, id: str = ""
) -> RunStatus:
    return await env.client.execute_workflow(
        QuoteToCashWorkflow.run,
        RunInput(event=cycle_closed(contract_id, month), collect=False),
        id=id or f"test-deliver:{contract_id}:{month}:{uuid.uuid4()}",
        task_queue=queue,
    )


async def _get(own: SystemsService, path: str) -> Any:
    async with own.client() as http:
        response = await http.get(path)
        response.raise_for_status()
        return response.json()


async def _copy_of_globex(own: SystemsService, **customer: object) -> str:
    """A customer of the test's own, like the seeded Globex GmbH (Berlin, DE136695976) but
    for `customer`, with a contract like C-1002 (1,200 EUR platform fee in advance)."""
    return (await copy_contract(own, "C-1002", customer=customer)).contract_id


def _message(own: SystemsService, wanted: str) -> list[EmailMessage]:
    assert own.outbox is not None
    return [m for m in own.outbox.messages() if m["Message-ID"] == wanted]


async def test_an_email_customers_run_ends_delivered_with_both_files_attached(
    time_skipping_env: WorkflowEnvironment, own: SystemsService, queue: str, tmp_path: Path
) -> None:
    workflow_id = f"test-deliver:{uuid.uuid4()}"
    result = await _run(time_skipping_env, queue, "C-1002", 3, id=workflow_id)
    assert result.state is RunState.DELIVERED, result.reason
    [document] = result.documents
    posting = await _get(own, f"/erp/postings/{document.posting_key}")
    posted_on = datetime.fromisoformat(posting["posted_at"]).date()
    assert document.issue_date == posted_on
    delivery = document.delivery
    assert delivery is not None
    # The seeded customer CU-1002's address, and the id docs/delivery.md derives.
    assert (delivery.channel, delivery.recipient) == ("email", "rechnung@globex.example")
    assert delivery.message_id == message_id(document.posting_key)
    assert not delivery.already_sent

    [message] = _message(own, delivery.message_id)
    number = document.erp_document_id
    assert message["To"].addresses[0].addr_spec == "rechnung@globex.example"
    assert number in message["Subject"] and "Invoice" in message["Subject"]
    body = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert body is not None and html is not None
    assert number in body.get_content() and number in html.get_content()
    due = posted_on + timedelta(days=30)  # C-1002's terms: the contract's default, net 30
    assert f"It is payable by {due.day} {due:%B %Y}" in body.get_content()
    attachments = {a.get_filename(): a for a in message.iter_attachments()}
    assert set(attachments) == {f"{number}.pdf", f"{number}.xml"}
    assert attachments[f"{number}.pdf"].get_content_type() == "application/pdf"
    assert attachments[f"{number}.xml"].get_content_type() == "application/xml"

    ubl = attachments[f"{number}.xml"].get_payload(decode=True)
    assert isinstance(ubl, bytes)
    assert validate(ubl).ok, validate(ubl).failed
    root = ET.fromstring(ubl)
    assert root.findtext("cbc:ID", namespaces=UBL_NS) == number  # BT-1
    assert root.findtext("cbc:IssueDate", namespaces=UBL_NS) == posted_on.isoformat()  # BT-2
    assert root.findtext("cbc:DueDate", namespaces=UBL_NS) == due.isoformat()  # BT-9
    pdf = attachments[f"{number}.pdf"].get_payload(decode=True)
    assert isinstance(pdf, bytes) and pdf.startswith(b"%PDF")
    name, cii = get_xml_from_pdf(io.BytesIO(pdf), check_xsd=True)
    assert name == "factur-x.xml"
    assert validate(cii).ok, validate(cii).failed

    # `q2c documents`: rendered again from the run's history, the bytes the customer got.
    out = tmp_path / "documents"
    written = await write_run_documents(
        time_skipping_env.client, workflow_id, out=out, seller=Seller()
    )
    assert sorted(p.name for p in written) == sorted(
        [f"{number}.xml", f"{number}.cii.xml", f"{number}.pdf"]
    )
    assert (out / f"{number}.xml").read_bytes() == ubl
    assert (out / f"{number}.cii.xml").read_bytes() == cii


async def test_a_peppol_customers_document_goes_to_the_access_point_not_the_inbox(
    time_skipping_env: WorkflowEnvironment, own: SystemsService, queue: str
) -> None:
    result = await _run(time_skipping_env, queue, "C-1014", 3)
    assert result.state is RunState.DELIVERED, result.reason
    [document] = result.documents
    delivery = document.delivery
    assert delivery is not None
    # CU-1014, Tulip Logistics B.V., receives over Peppol (docs/delivery.md).
    assert (delivery.channel, delivery.recipient) == ("peppol", "9944:NL004495445B01")
    sent = await _get(own, f"/peppol/outbound/{document.erp_document_id}")
    assert sent["receiver_id"] == "9944:NL004495445B01"
    assert sent["transmission_id"] == delivery.message_id
    # What the access point holds is the UBL that was sent: it passes the official rules.
    async with own.client() as http:
        stored = await http.get(f"/peppol/outbound/{document.erp_document_id}/document")
    assert stored.status_code == 200 and stored.headers["content-type"] == "application/xml"
    assert hashlib.sha256(stored.content).hexdigest() == sent["content_sha256"]
    assert validate(stored.content).ok, validate(stored.content).failed
    root = ET.fromstring(stored.content)
    assert root.findtext("cbc:ID", namespaces=UBL_NS) == document.erp_document_id  # BT-1
    assert _message(own, message_id(document.posting_key)) == []


async def test_a_customer_without_a_street_needs_attention_and_nothing_is_sent(
    time_skipping_env: WorkflowEnvironment, own: SystemsService, queue: str
) -> None:
    address = {"line1": "", "city": "Berlin", "postal_code": "10117", "country": "DE"}
    contract_id = await _copy_of_globex(own, address=address)
    result = await _run(time_skipping_env, queue, contract_id, 3)
    assert result.state is RunState.NEEDS_ATTENTION, result
    assert result.reason_code == "einvoice_invalid"
    # EN 16931 leaves the street optional; the VAT directive's art. 226(5) does not.
    assert "customer.address.line1" in result.reason and "226(5)" in result.reason
    [document] = result.documents
    assert document.erp_document_id  # posted: the ERP has it; only the sending stopped
    assert document.delivery is None
    assert _message(own, message_id(document.posting_key)) == []


async def test_a_mailbox_that_refuses_permanently_needs_attention_delivery_failed(
    time_skipping_env: WorkflowEnvironment, own: SystemsService, queue: str
) -> None:
    # tests/outbox.py: the outbox answers 550 to recipients starting with "bounce".
    contract_id = await _copy_of_globex(own, email="bounce-ap@globex.example")
    workflow_id = f"test-deliver:{contract_id}:3:{uuid.uuid4()}"
    result = await _run(time_skipping_env, queue, contract_id, 3, id=workflow_id)
    assert result.state is RunState.NEEDS_ATTENTION, result
    assert result.reason_code == "delivery_failed"
    # The code is a search attribute too: the UI's "Delivery failed" view filters on it.
    described = await time_skipping_env.client.get_workflow_handle(workflow_id).describe()
    attributes = described.typed_search_attributes
    assert attributes.get(sa.REASON_CODE) == "delivery_failed"
    assert attributes.get(sa.Q2C_STATUS) == "NeedsAttention"
    assert "bounce-ap@globex.example" in result.reason and "550" in result.reason
    [document] = result.documents
    assert document.delivery is None
    assert _message(own, message_id(document.posting_key)) == []


async def test_a_retried_delivery_after_the_send_sends_one_message(
    time_skipping_env: WorkflowEnvironment,
    own: SystemsService,
    queue: str,
) -> None:
    """What Temporal does when a worker dies after sending, before it reports: it runs the
    activity again with the same input. The delivery log makes the second a no-op."""
    result = await _run(time_skipping_env, queue, "C-1002", 4)
    assert result.state is RunState.DELIVERED, result.reason
    customer = Customer.model_validate(await _get(own, "/crm/customers/CU-1002"))
    contract = Contract.model_validate(await _get(own, "/crm/contracts/C-1002"))
    posting = await _get(own, f"/erp/postings/{result.documents[0].posting_key}")
    key = f"retry:{uuid.uuid4()}"
    async with httpx.AsyncClient(base_url=own.url) as http:
        delivery = DeliveryActivities(
            smtp=parse_smtp_url(own.smtp_url),
            sender=Sender(address="billing@q2c.example", name=Seller().name),
            peppol=http,
            log=own.delivery_log,
        )
        renders: list[str] = []

        class CountedRenders(InThread):
            async def run(self, fn: Callable[..., T], *args: Any) -> T:
                renders.append(args[0].delivery_key)
                return await super().run(fn, *args)

        documents = DocumentActivities(seller=Seller(), delivery=delivery, offload=CountedRenders())
        input = DeliverDocumentInput(
            run_id="test-retry",
            delivery_key=key,
            invoice=posting["invoice"],
            erp_document_id=posting["erp_document_id"],
            posting_key=posting["posting_key"],
            customer=customer,
            terms=contract.document_terms,
            issue_date=date(2026, 4, 1),
        )
        first = await documents.deliver_document(input)
        # The retry finds the key sent in the log before it renders: nothing is rendered.
        second = await documents.deliver_document(input)
    assert (first.already_sent, second.already_sent) == (False, True)
    assert first.message_id == second.message_id == message_id(key)
    assert (second.channel, second.recipient, second.sent_at) == (
        first.channel,
        first.recipient,
        first.sent_at,
    )
    assert renders == [key]  # the first delivery's render only
    assert len(_message(own, message_id(key))) == 1
