"""The Peppol access point stand-in: one transmission per document id, UBL only."""

import asyncio
import base64
from typing import Any

import httpx

INVOICE_XML = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" '
    b'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">'
    b"<cbc:ID>INV-000042</cbc:ID></Invoice>"
)


def _outbound(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "document_id": "INV-000042",
        "document_type": "invoice",
        "receiver_id": "0208:0123456789",
        "document": base64.b64encode(INVOICE_XML).decode(),
    }
    return body | overrides


async def test_a_document_is_taken_once_and_read_back(client: httpx.AsyncClient) -> None:
    first = await client.post("/peppol/outbound", json=_outbound())
    assert first.status_code == 201
    sent = first.json()
    assert sent["receiver_id"] == "0208:0123456789"
    again = await client.post("/peppol/outbound", json=_outbound())
    assert again.status_code == 200
    assert again.json() == sent
    assert (await client.get("/peppol/outbound/INV-000042")).json() == sent
    assert [t["transmission_id"] for t in (await client.get("/peppol/outbound")).json()] == [
        sent["transmission_id"]
    ]


async def test_concurrent_sends_of_one_document_make_one_transmission(
    client: httpx.AsyncClient,
) -> None:
    answers = await asyncio.gather(
        *(client.post("/peppol/outbound", json=_outbound()) for _ in range(5))
    )
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 200, 201]
    assert len({a.json()["transmission_id"] for a in answers}) == 1


async def test_the_same_document_id_with_other_content_is_a_conflict(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/peppol/outbound", json=_outbound())
    other = INVOICE_XML.replace(b"<cbc:ID>INV-000042", b"<cbc:ID>INV-000043")
    conflict = await client.post(
        "/peppol/outbound",
        json=_outbound(receiver_id="9930:DE123456789", document=base64.b64encode(other).decode()),
    )
    assert conflict.status_code == 409
    assert "receiver_id, document" in conflict.json()["detail"]


async def test_a_malformed_participant_id_is_422_on_the_field(client: httpx.AsyncClient) -> None:
    for bad in ("0123456789", "208:0123456789", "0208:", "0208:a b"):
        response = await client.post("/peppol/outbound", json=_outbound(receiver_id=bad))
        assert response.status_code == 422, bad
        assert response.json()["detail"][0]["loc"] == ["body", "receiver_id"]


async def test_a_document_that_is_not_the_ubl_named_is_422(client: httpx.AsyncClient) -> None:
    not_xml = base64.b64encode(b"%PDF-1.7").decode()
    response = await client.post("/peppol/outbound", json=_outbound(document=not_xml))
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body", "document"]
    assert "not well-formed XML" in problem["msg"]
    as_credit_note = await client.post(
        "/peppol/outbound", json=_outbound(document_type="credit_note")
    )
    assert as_credit_note.status_code == 422
    assert "CreditNote-2}CreditNote" in as_credit_note.json()["detail"][0]["msg"]
    assert (await client.get("/peppol/outbound/INV-000042")).status_code == 404


async def test_the_access_point_can_be_faulted(client: httpx.AsyncClient) -> None:
    await client.put("/admin/faults", json={"system": "peppol", "error_rate": 1})
    assert (await client.post("/peppol/outbound", json=_outbound())).status_code == 500
    assert (await client.get("/crm/customers")).status_code == 200


async def test_the_document_is_kept_byte_for_byte(client: httpx.AsyncClient) -> None:
    assert (await client.post("/peppol/outbound", json=_outbound())).status_code == 201
    stored = await client.get("/peppol/outbound/INV-000042/document")
    assert stored.status_code == 200
    assert stored.headers["content-type"] == "application/xml"
    assert stored.content == INVOICE_XML
    missing = await client.get("/peppol/outbound/INV-404/document")
    assert missing.status_code == 404
