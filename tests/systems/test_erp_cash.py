"""ERP cash application: payments, refunds and write-offs once per key, and open items.

The invoice posted here totals 544.40 USD (500.00 + 44.40 tax, from tests.systems.test_erp).
"""

import asyncio
from typing import Any

import httpx

from tests.systems.test_erp import _request

RUN = "q2c:C-1001:cycle:2026-10-01:2026-11-01"


async def _invoice(client: httpx.AsyncClient, key: str = RUN, **fields: Any) -> str:
    response = await client.post("/erp/postings", json=_request(key, **fields))
    assert response.status_code == 201, response.text
    return str(response.json()["erp_document_id"])


def _cash(
    document: str,
    amount: str | float,
    *,
    kind: str = "payment",
    reference: str = "pi_1",
    **fields: Any,
) -> dict[str, Any]:
    key_kind = "write-off" if kind == "write_off" else kind
    return {
        "posting_key": f"{RUN}:{key_kind}:{reference}",
        "kind": kind,
        "document": document,
        "amount": amount,
        "currency": "USD",
        "value_date": "2026-11-20",
        "reference": reference,
    } | fields


async def _post(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await client.post("/erp/cash-postings", json=body)


async def _open(client: httpx.AsyncClient, customer: str = "CU-1001", **params: Any) -> Any:
    response = await client.get(f"/erp/customers/{customer}/open-items", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_partial_then_a_full_payment_settle_the_invoice(
    client: httpx.AsyncClient,
) -> None:
    document = await _invoice(client)
    first = await _post(client, _cash(document, "200.00", reference="bank-1"))
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["cash_document_id"], body["applied"], body["to_credit"]) == (
        "PAY-000001",
        "200.00",
        "0.00",
    )
    assert body["open_after"] == "344.40"  # 544.40 - 200.00
    assert body["posting_key"] == f"{RUN}:payment:bank-1"
    assert body["journal"] == [
        {
            "account": "1000 Cash",
            "debit": "200.00",
            "credit": "0.00",
            "description": "Payment received",
        },
        {
            "account": "1200 Accounts receivable",
            "debit": "0.00",
            "credit": "200.00",
            "description": "Applied to the document",
        },
    ]
    items = await _open(client)
    assert [(i["erp_document_id"], i["paid"], i["open_amount"]) for i in items["items"]] == [
        (document, "200.00", "344.40")
    ]
    assert items["open_by_currency"] == {"USD": "344.40"}
    rest = (await _post(client, _cash(document, "344.40", reference="bank-2"))).json()
    assert (rest["cash_document_id"], rest["open_after"]) == ("PAY-000002", "0.00")
    settled = await _open(client)
    assert (settled["items"], settled["open_by_currency"], settled["credit_balance"]) == (
        [],
        {},
        {},
    )
    every = await _open(client, all="true")
    assert [(i["paid"], i["open_amount"]) for i in every["items"]] == [("544.40", "0.00")]


async def test_an_overpayment_becomes_a_credit_balance(client: httpx.AsyncClient) -> None:
    document = await _invoice(client)
    paid = (await _post(client, _cash(document, "600.00"))).json()
    # 600.00 - 544.40 = 55.60 kept for the customer.
    assert (paid["applied"], paid["to_credit"], paid["open_after"]) == ("544.40", "55.60", "0.00")
    assert [(e["account"], e["debit"], e["credit"]) for e in paid["journal"]] == [
        ("1000 Cash", "600.00", "0.00"),
        ("1200 Accounts receivable", "0.00", "544.40"),
        ("2400 Customer credit balances", "0.00", "55.60"),
    ]
    assert (await _open(client))["credit_balance"] == {"USD": "55.60"}
    totals = (await client.get("/erp/journal/totals")).json()
    # The invoice's 544.40 on each side, and the payment's 600.00.
    assert totals["by_currency"]["USD"] == {
        "debits": "1144.40",
        "credits": "1144.40",
        "postings": 2,
    }


async def test_the_same_key_posts_once(client: httpx.AsyncClient) -> None:
    document = await _invoice(client)
    first = await _post(client, _cash(document, "100.00"))
    again = await _post(client, _cash(document, "100.0"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    changed = await _post(client, _cash(document, "100.01"))
    assert changed.status_code == 409
    assert changed.json() == {
        "detail": f"posting key {RUN}:payment:pi_1 already posted with different content "
        "(as PAY-000001)"
    }
    read = await client.get(f"/erp/cash-postings/{RUN}:payment:pi_1")
    assert read.json() == first.json()
    listed = await client.get("/erp/cash-postings", params={"document": document})
    assert [p["cash_document_id"] for p in listed.json()] == ["PAY-000001"]
    assert (await _open(client))["items"][0]["open_amount"] == "444.40"


async def test_concurrent_payments_apply_no_more_than_is_open(client: httpx.AsyncClient) -> None:
    document = await _invoice(client)
    answers = await asyncio.gather(
        *(_post(client, _cash(document, "200.00", reference=f"pi_{n}")) for n in range(5))
    )
    assert {answer.status_code for answer in answers} == {201}
    applied = sorted(answer.json()["applied"] for answer in answers)
    # 544.40 open: two payments apply in full, one applies 144.40, two go to credit.
    assert applied == ["0.00", "0.00", "144.40", "200.00", "200.00"]
    assert (await _open(client))["credit_balance"] == {"USD": "455.60"}  # 1000.00 - 544.40


async def test_unknown_document_wrong_currency_and_odd_amounts_are_refused(
    client: httpx.AsyncClient,
) -> None:
    document = await _invoice(client)
    unknown = await _post(client, _cash("INV-999999", "10.00"))
    assert (unknown.status_code, unknown.json()) == (
        404,
        {"detail": "document INV-999999 not found"},
    )
    euros = await _post(client, _cash(document, "10.00", currency="EUR"))
    assert euros.status_code == 422
    [problem] = euros.json()["detail"]
    assert problem["loc"] == ["body", "currency"]
    assert "EUR differs from INV-000001's currency USD" in problem["msg"]
    for amount, reason in (("10.001", "more places than USD's 2"), ("0.00", "greater than 0")):
        response = await _post(client, _cash(document, amount))
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "amount"]
        assert reason in response.json()["detail"][0]["msg"]
    floats = await _post(client, _cash(document, 10.5))
    assert floats.json()["detail"][0]["loc"] == ["body", "amount"]
    # Nothing refused was stored, and no number was used up.
    assert (await _open(client))["items"][0]["open_amount"] == "544.40"
    assert (await _post(client, _cash(document, "1.00"))).json()["cash_document_id"] == "PAY-000001"


async def test_a_write_off_closes_what_is_open_and_no_more(client: httpx.AsyncClient) -> None:
    document = await _invoice(client)
    await _post(client, _cash(document, "500.00"))
    too_much = await _post(client, _cash(document, "44.41", kind="write_off", reference="1"))
    assert too_much.status_code == 422
    assert "more than the 44.40 open" in too_much.json()["detail"][0]["msg"]
    written = (
        await _post(client, _cash(document, "44.40", kind="write_off", reference="1"))
    ).json()
    assert (written["cash_document_id"], written["open_after"]) == ("WO-000001", "0.00")
    assert [(e["account"], e["debit"], e["credit"]) for e in written["journal"]] == [
        ("6900 Bad debt expense", "44.40", "0.00"),
        ("1200 Accounts receivable", "0.00", "44.40"),
    ]
    every = (await _open(client, all="true"))["items"]
    assert [(i["paid"], i["written_off"], i["open_amount"]) for i in every] == [
        ("500.00", "44.40", "0.00")
    ]


async def test_a_refund_reopens_the_invoice_up_to_what_was_paid(
    client: httpx.AsyncClient,
) -> None:
    document = await _invoice(client)
    nothing_paid = await _post(client, _cash(document, "1.00", kind="refund", reference="re_0"))
    assert "more than the 0.00 that may be refunded" in nothing_paid.json()["detail"][0]["msg"]
    await _post(client, _cash(document, "544.40"))
    refund = await _post(client, _cash(document, "100.00", kind="refund", reference="re_1"))
    assert refund.status_code == 201
    assert (refund.json()["cash_document_id"], refund.json()["open_after"]) == (
        "RFD-000001",
        "100.00",
    )
    over = await _post(client, _cash(document, "444.41", kind="refund", reference="re_2"))
    assert over.status_code == 422
    assert (await _open(client))["items"][0]["refunded"] == "100.00"


async def test_a_credit_note_is_refunded_never_paid(client: httpx.AsyncClient) -> None:
    note = await _invoice(client, f"{RUN}:credit-note", document_type="credit_note")
    assert note == "CN-000001"
    paid = await _post(client, _cash(note, "10.00"))
    assert paid.status_code == 422
    assert paid.json()["detail"][0]["loc"] == ["body", "document"]
    written_off = await _post(client, _cash(note, "10.00", kind="write_off", reference="1"))
    assert written_off.json()["detail"][0]["loc"] == ["body", "document"]
    items = await _open(client)
    assert [(i["document_type"], i["total"], i["open_amount"]) for i in items["items"]] == [
        ("credit_note", "-544.40", "-544.40")
    ]
    refunded = await _post(client, _cash(note, "544.40", kind="refund", reference="re_cn"))
    assert refunded.json()["open_after"] == "0.00"
    again = await _post(client, _cash(note, "0.01", kind="refund", reference="re_cn2"))
    assert again.status_code == 422


async def test_open_items_list_every_currency_apart(client: httpx.AsyncClient) -> None:
    usd = await _invoice(client, "k-usd")
    eur = await _invoice(client, "k-eur", currency="EUR", subtotal="100.00", tax="19.00")
    await _invoice(client, "k-other", customer_id="CU-1002")
    await _post(client, _cash(usd, "44.40"))
    items = await _open(client)
    assert [(i["erp_document_id"], i["currency"], i["open_amount"]) for i in items["items"]] == [
        (usd, "USD", "500.00"),
        (eur, "EUR", "119.00"),
    ]
    assert items["open_by_currency"] == {"EUR": "119.00", "USD": "500.00"}
    assert (await _open(client, "CU-NOBODY"))["items"] == []


async def test_a_credit_note_applied_to_an_invoice_reduces_both_once(
    client: httpx.AsyncClient,
) -> None:
    # Invoice 544.40; credit note 110.00 (100.00 + 10.00 tax): 434.40 stays open on the
    # invoice and the credit note has nothing left to give.
    document = await _invoice(client)
    note = await _invoice(
        client, f"{RUN}:dispute-credit:1", document_type="credit_note", subtotal="100.00",
        tax="10.00",
    )  # fmt: skip
    body = _cash(document, "110.00", kind="credit_application", reference=note)
    body["posting_key"] = f"{RUN}:credit-application:{note}"
    applied = await _post(client, body)
    assert applied.status_code == 201, applied.text
    assert (applied.json()["cash_document_id"], applied.json()["open_after"]) == (
        "CAP-000001", "434.40",
    )  # fmt: skip
    journal = applied.json()["journal"]
    assert sum(float(e["debit"]) for e in journal) == sum(float(e["credit"]) for e in journal)
    assert (await _post(client, body)).status_code == 200  # the same key: applied once
    items = await _open(client, all="true")
    assert [(i["document_type"], i["credited"], i["open_amount"]) for i in items["items"]] == [
        ("invoice", "110.00", "434.40"),
        ("credit_note", "110.00", "0.00"),
    ]
    assert items["open_by_currency"] == {"USD": "434.40"}
    again = _cash(document, "0.01", kind="credit_application", reference=note)
    again["posting_key"] = f"{RUN}:credit-application:{note}:2"
    refused = await _post(client, again)
    assert refused.status_code == 422
    assert "has left" in refused.json()["detail"][0]["msg"]


async def test_a_credit_application_names_a_credit_note_of_the_same_customer(
    client: httpx.AsyncClient,
) -> None:
    document = await _invoice(client)
    other = await _invoice(client, "k-other", customer_id="CU-1002", document_type="credit_note")
    invoice_as_note = _cash(document, "1.00", kind="credit_application", reference=document)
    answer = await _post(client, invoice_as_note)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "reference"]
    assert "is not a posted credit note" in answer.json()["detail"][0]["msg"]
    foreign = await _post(
        client, _cash(document, "1.00", kind="credit_application", reference=other)
    )
    assert "CU-1002's in USD" in foreign.json()["detail"][0]["msg"]
