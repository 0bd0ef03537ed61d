"""Peppol delivery to the access point stand-in of the real systems service: once per
posting key, refusals permanent, server errors retried."""

import base64
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from pydantic import ValidationError
from temporalio.exceptions import ApplicationError

from activities.delivery import DeliveryActivities
from activities.email_message import Sender
from activities.errors import TRANSIENT
from activities.smtp import parse_smtp_url
from schemas.delivery import Attachment, SendPeppolInput
from schemas.errors import ReasonCode
from tests.conftest import SystemsService
from workers.delivery_log import DeliveryLogStore


@pytest.fixture(scope="module")
def access_point(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SystemsService]:
    """Its own service, so the faults set here touch no other test."""
    service = SystemsService.in_folder(tmp_path_factory.mktemp("peppol"))
    service.start()
    yield service
    service.stop()


@pytest.fixture
async def http(access_point: SystemsService) -> AsyncIterator[httpx.AsyncClient]:
    async with access_point.client() as client:
        yield client


def _activities(http: httpx.AsyncClient, log: DeliveryLogStore) -> DeliveryActivities:
    # The SMTP target is not used by send_peppol.
    return DeliveryActivities(
        smtp=parse_smtp_url("smtp://127.0.0.1:9?starttls=off"),
        sender=Sender(address="billing@seller.example"),
        peppol=http,
        log=log,
    )


def _ubl(document_id: str) -> bytes:
    return (
        '<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" '
        'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">'
        f"<cbc:ID>{document_id}</cbc:ID></Invoice>"
    ).encode()


def _input(**overrides: object) -> SendPeppolInput:
    document_id = f"INV-{uuid.uuid4().hex[:8]}"
    values: dict[str, object] = {
        "posting_key": f"q2c:C-1014:cycle:2026-10-01:2026-11-01:{document_id}",
        "document_id": document_id,
        "document_type": "invoice",
        "recipient": "9944:NL004495445B01",
        "document": Attachment(
            filename=f"{document_id}.xml", content_type="application/xml", content=_ubl(document_id)
        ),
    }
    return SendPeppolInput.model_validate(values | overrides)


async def _transmissions(http: httpx.AsyncClient, document_id: str) -> list[dict[str, str]]:
    listed: list[dict[str, str]] = (await http.get("/peppol/outbound")).json()
    return [t for t in listed if t["document_id"] == document_id]


async def test_the_document_is_sent_once_per_posting_key(
    http: httpx.AsyncClient, delivery_log: DeliveryLogStore
) -> None:
    activities = _activities(http, delivery_log)
    input = _input()
    first = await activities.send_peppol(input)
    assert (first.channel, first.recipient, first.already_sent) == (
        "peppol",
        "9944:NL004495445B01",
        False,
    )
    [stored] = await _transmissions(http, input.document_id)
    assert stored["transmission_id"] == first.message_id
    again = await activities.send_peppol(input)
    assert again.already_sent
    assert (again.message_id, again.sent_at) == (first.message_id, first.sent_at)
    assert len(await _transmissions(http, input.document_id)) == 1


async def test_a_send_the_log_missed_is_the_same_transmission(
    http: httpx.AsyncClient, delivery_log: DeliveryLogStore, tmp_path: object
) -> None:
    # A crash after the access point took it, before `sent` was written: the retry sends
    # again, and the access point answers with the transmission it already has.
    input = _input()
    first = await _activities(http, delivery_log).send_peppol(input)
    other_log = DeliveryLogStore(url=f"sqlite:///{tmp_path}/other.db")
    other_log.create()
    repeat = await _activities(http, other_log).send_peppol(input)
    other_log.dispose()
    assert (repeat.message_id, repeat.already_sent) == (first.message_id, False)
    assert len(await _transmissions(http, input.document_id)) == 1


async def test_a_refusal_by_the_access_point_is_a_permanent_delivery_failure(
    http: httpx.AsyncClient, delivery_log: DeliveryLogStore
) -> None:
    input = _input()
    as_credit_note = input.model_copy(update={"document_type": "credit_note"})
    with pytest.raises(ApplicationError) as refused:
        await _activities(http, delivery_log).send_peppol(as_credit_note)
    assert (refused.value.type, refused.value.non_retryable) == (ReasonCode.DELIVERY_FAILED, True)
    assert input.document_id in refused.value.message
    assert "9944:NL004495445B01" in refused.value.message
    assert "422" in refused.value.message
    entry = delivery_log.find(input.posting_key)
    assert entry is not None and entry.state == "failed"


async def test_a_server_error_is_retried(
    http: httpx.AsyncClient, delivery_log: DeliveryLogStore
) -> None:
    await http.put("/admin/faults", json={"system": "peppol", "error_rate": 1})
    try:
        with pytest.raises(ApplicationError) as failed:
            await _activities(http, delivery_log).send_peppol(_input())
    finally:
        await http.delete("/admin/faults")
    assert (failed.value.type, failed.value.non_retryable) == (TRANSIENT, False)
    assert "500" in failed.value.message


async def test_a_wrong_token_is_a_configuration_error(
    access_point: SystemsService, delivery_log: DeliveryLogStore
) -> None:
    async with access_point.client(token="wrong") as http:
        with pytest.raises(ApplicationError) as refused:
            await _activities(http, delivery_log).send_peppol(_input())
    assert (refused.value.type, refused.value.non_retryable) == (ReasonCode.CONFIGURATION, True)


@pytest.mark.parametrize("recipient", ["0123456789", "208:0123456789", "0208:", "DE123456789"])
def test_a_malformed_participant_id_is_refused_before_anything_is_sent(recipient: str) -> None:
    with pytest.raises(ValidationError) as refused:
        _input(recipient=recipient)
    [error] = refused.value.errors()
    assert error["loc"] == ("recipient",)


def test_peppol_carries_xml_only() -> None:
    pdf = Attachment(filename="a.pdf", content_type="application/pdf", content=b"%PDF")
    with pytest.raises(ValidationError) as refused:
        _input(document=pdf)
    assert "Peppol carries UBL XML, not application/pdf" in str(refused.value)


def test_the_document_travels_as_base64() -> None:
    input = _input()
    # pydantic writes bytes as URL-safe base64 (RFC 4648 §5).
    assert base64.urlsafe_b64decode(input.model_dump(mode="json")["document"]["content"]) == _ubl(
        input.document_id
    )
