"""Payment provider: PaymentIntents with Stripe's idempotency, declines, processing, refunds."""

import asyncio
import uuid
from typing import Any

import httpx

CUSTOMER = "CU-PAY"


async def _method(client: httpx.AsyncClient, method_id: str, **fields: Any) -> None:
    body = {"customer": CUSTOMER, "type": "card", "brand": "visa", "last4": "4242"} | fields
    response = await client.put(f"/payments/payment_methods/{method_id}", json=body)
    assert response.status_code in (200, 201), response.text


async def _create(
    client: httpx.AsyncClient, *, key: str | None = None, **fields: Any
) -> httpx.Response:
    body = {"amount": 54440, "currency": "usd", "customer": CUSTOMER, "confirm": True} | fields
    headers = {"Idempotency-Key": key} if key else {}
    return await client.post("/payments/payment_intents", json=body, headers=headers)


def _key() -> str:
    return f"run-{uuid.uuid4().hex}:charge:1"


async def test_a_confirmed_intent_on_a_good_card_succeeds(client: httpx.AsyncClient) -> None:
    await _method(client, "pm_good")
    response = await _create(client, key=_key(), metadata={"invoice_id": "INV-1"})
    assert response.status_code == 200, response.text
    intent = response.json()
    assert (intent["status"], intent["amount"], intent["amount_received"]) == (
        "succeeded",
        54440,
        54440,
    )
    assert intent["id"].startswith("pi_") and intent["latest_charge"].startswith("ch_")
    assert (intent["currency"], intent["payment_method"]) == ("usd", "pm_good")
    assert intent["metadata"] == {"invoice_id": "INV-1"}
    assert (await client.get(f"/payments/payment_intents/{intent['id']}")).json() == intent


async def test_the_same_key_and_body_replay_the_same_intent(client: httpx.AsyncClient) -> None:
    await _method(client, "pm_good")
    key = _key()
    first, second = await _create(client, key=key), await _create(client, key=key)
    assert first.json() == second.json()
    assert "idempotent-replayed" not in first.headers
    assert second.headers["idempotent-replayed"] == "true"
    totals = (await client.get("/payments/totals")).json()
    assert (totals["intents"], totals["charges_succeeded"]) == (1, 1)
    assert totals["by_currency"] == {"usd": {"received": 54440, "refunded": 0}}


async def test_the_same_key_with_another_body_is_409(client: httpx.AsyncClient) -> None:
    await _method(client, "pm_good")
    key = _key()
    assert (await _create(client, key=key)).status_code == 200
    other = await _create(client, key=key, amount=54441)
    assert other.status_code == 409
    assert other.json()["detail"].startswith("idempotency_error:")
    assert (await client.get("/payments/totals")).json()["intents"] == 1


async def test_concurrent_requests_with_one_key_charge_once(client: httpx.AsyncClient) -> None:
    await _method(client, "pm_good")
    key = _key()
    answers = await asyncio.gather(*(_create(client, key=key) for _ in range(5)))
    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert (await client.get("/payments/totals")).json()["charges_succeeded"] == 1


async def test_a_card_declines_n_times_then_succeeds(client: httpx.AsyncClient) -> None:
    await _method(client, "pm_flaky", decline_next=2, decline_code="insufficient_funds")
    declined = await _create(client, key="run-d:charge:1")
    assert declined.status_code == 402
    error = declined.json()["error"]
    assert (error["type"], error["code"], error["decline_code"]) == (
        "card_error",
        "card_declined",
        "insufficient_funds",
    )
    intent = error["payment_intent"]
    assert intent["status"] == "requires_payment_method"
    assert intent["last_payment_error"]["decline_code"] == "insufficient_funds"
    assert intent["amount_received"] == 0
    # A replay of the declined attempt is the same decline, not a new attempt.
    assert (await _create(client, key="run-d:charge:1")).json() == declined.json()
    confirm = f"/payments/payment_intents/{intent['id']}/confirm"
    again = await client.post(confirm, headers={"Idempotency-Key": "run-d:charge:2"})
    assert again.status_code == 402
    paid = await client.post(confirm, headers={"Idempotency-Key": "run-d:charge:3"})
    assert paid.status_code == 200, paid.text
    assert (paid.json()["status"], paid.json()["last_payment_error"]) == ("succeeded", None)
    totals = (await client.get("/payments/totals")).json()
    assert (totals["charges_declined"], totals["charges_succeeded"]) == (2, 1)
    # Confirming a succeeded intent is refused, so a stray retry cannot charge twice.
    stray = await client.post(confirm, headers={"Idempotency-Key": "run-d:charge:4"})
    assert stray.status_code == 409
    assert "payment_intent_unexpected_state" in stray.json()["detail"]


async def test_a_direct_debit_is_processing_until_it_settles(client: httpx.AsyncClient) -> None:
    await _method(client, "pm_sepa", type="sepa_debit", brand="", processing_seconds=1)
    response = await _create(client, key=_key(), currency="eur")
    assert response.status_code == 200
    intent = response.json()
    assert (intent["status"], intent["amount_received"]) == ("processing", 0)
    await asyncio.sleep(1.1)
    settled = (await client.get(f"/payments/payment_intents/{intent['id']}")).json()
    assert (settled["status"], settled["amount_received"]) == ("succeeded", 54440)


async def test_the_default_method_is_charged_when_none_is_named(
    client: httpx.AsyncClient,
) -> None:
    await _method(client, "pm_old", is_default=False)
    await _method(client, "pm_new")
    intent = (await _create(client, key=_key())).json()
    assert intent["payment_method"] == "pm_new"
    listed = (await client.get(f"/payments/customers/{CUSTOMER}/payment_methods")).json()
    assert [method["id"] for method in listed] == ["pm_new", "pm_old"]


async def test_bad_intents_are_422_and_store_no_key(client: httpx.AsyncClient) -> None:
    key = _key()
    no_method = await _create(client, key=key)
    assert no_method.status_code == 422
    assert no_method.json()["detail"][0]["loc"] == ["body", "payment_method"]
    assert "no default payment method" in no_method.json()["detail"][0]["msg"]
    await _method(client, "pm_good")
    # Nothing was stored under the key: the corrected request goes through with it.
    assert (await _create(client, key=key)).status_code == 200
    for fields, field in (
        ({"amount": 0}, "amount"),
        ({"amount": "12.50"}, "amount"),
        ({"currency": "xyz"}, "currency"),
        ({"payment_method": "pm_nope"}, "payment_method"),
    ):
        response = await _create(client, key=_key(), **fields)
        assert response.status_code == 422, fields
        assert response.json()["detail"][0]["loc"] == ["body", field]
    await _method(client, "pm_theirs", customer="CU-OTHER")
    theirs = await _create(client, key=_key(), payment_method="pm_theirs")
    assert "belongs to another customer" in theirs.json()["detail"][0]["msg"]


async def test_refunds_are_bounded_by_what_was_received(client: httpx.AsyncClient) -> None:
    await _method(client, "pm_good")
    intent = (await _create(client, key=_key())).json()
    body = {"payment_intent": intent["id"], "amount": 10000, "reason": "requested_by_customer"}
    refund = await client.post("/payments/refunds", json=body, headers={"Idempotency-Key": "r1"})
    assert refund.status_code == 200, refund.text
    assert (refund.json()["amount"], refund.json()["status"]) == (10000, "succeeded")
    replay = await client.post("/payments/refunds", json=body, headers={"Idempotency-Key": "r1"})
    assert replay.json() == refund.json()
    too_much = body | {"amount": 54440 - 10000 + 1}
    over = await client.post("/payments/refunds", json=too_much, headers={"Idempotency-Key": "r2"})
    assert over.status_code == 422
    assert over.json()["detail"][0]["loc"] == ["body", "amount"]
    whole = {"payment_intent": intent["id"]}
    rest = await client.post("/payments/refunds", json=whole, headers={"Idempotency-Key": "r3"})
    assert rest.json()["amount"] == 44440
    read = (await client.get(f"/payments/payment_intents/{intent['id']}")).json()
    assert read["amount_refunded"] == 54440
    assert (await client.get(f"/payments/refunds/{rest.json()['id']}")).json() == rest.json()
    unknown = await client.post("/payments/refunds", json={"payment_intent": "pi_nope"})
    assert unknown.status_code == 404


async def test_a_declined_intent_cannot_be_refunded(client: httpx.AsyncClient) -> None:
    await _method(client, "pm_bad", decline_next=1)
    intent = (await _create(client, key=_key())).json()["error"]["payment_intent"]
    response = await client.post("/payments/refunds", json={"payment_intent": intent["id"]})
    assert response.status_code == 409


async def test_a_lost_response_is_replayed_by_its_key(client: httpx.AsyncClient) -> None:
    await _method(client, "pm_good")
    rule = {"system": "payments", "drop_response_rate": 1}
    assert (await client.put("/admin/faults", json=rule)).status_code == 200
    key = _key()
    lost = await _create(client, key=key)
    assert lost.status_code == 504
    await client.delete("/admin/faults")
    retried = await _create(client, key=key)
    assert (retried.status_code, retried.headers["idempotent-replayed"]) == (200, "true")
    assert (await client.get("/payments/totals")).json()["charges_succeeded"] == 1
