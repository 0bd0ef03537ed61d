"""ERP revenue: schedules kept with the posting, one recognition entry per key, closed
months refused with `period_closed`, the deferred balance against the schedules."""

from typing import Any

import httpx

from tests.systems.test_erp import _request

DEFERRED = "2400 Deferred revenue"


def _scheduled(key: str, *, currency: str = "USD") -> dict[str, Any]:
    """A 300.00 quarterly fee billed in October 2026 for October..December: 100.00 a month,
    all deferred; the journal credits deferred revenue with the 300.00."""
    body = _request(key, subtotal="300.00", tax="0.00", currency=currency)
    body["invoice"]["tax_lines"] = []
    body["invoice"]["tax_total"] = "0.00"
    body["journal"] = [
        {"account": "1200 Accounts receivable", "debit": "300.00", "credit": "0"},
        {"account": DEFERRED, "debit": "0", "credit": "300.00"},
    ]
    body["billed_month"] = "2026-10"
    body["revenue_schedule"] = [
        {
            "line_id": "L1",
            "month": m,
            "amount": "100.00",
            "product_line": "platform",
            "deferred": True,
        }
        for m in ("2026-10", "2026-11", "2026-12")
    ]
    return body


async def _due(client: httpx.AsyncClient, through: str, currency: str = "USD") -> list[Any]:
    response = await client.get(
        "/erp/revenue/schedule-lines",
        params={"through": through, "currency": currency, "due": "true"},
    )
    assert response.status_code == 200
    lines: list[Any] = response.json()
    return lines


def _recognition(
    key: str,
    ids: list[int],
    *,
    month: str = "2026-10",
    period: str | None = None,
    currency: str = "USD",
    amount: str = "100.00",
) -> dict[str, Any]:
    return {
        "posting_key": key,
        "month": month,
        "period": period or month,
        "currency": currency,
        "schedule_line_ids": ids,
        "journal": [
            {"account": DEFERRED, "debit": amount, "credit": "0"},
            {"account": "4000 Revenue", "debit": "0", "credit": amount},
        ],
    }


async def test_schedule_is_kept_and_released_once(client: httpx.AsyncClient) -> None:
    posted = await client.post("/erp/postings", json=_scheduled("rev:sys:1"))
    assert posted.status_code == 201, posted.text
    due = await _due(client, "2026-10")
    assert [(line["month"], line["amount"]) for line in due] == [("2026-10", "100.00")]
    body = _recognition("revenue:2026-10:USD", [due[0]["id"]])
    first = await client.post("/erp/revenue/recognitions", json=body)
    assert first.status_code == 201, first.text
    assert first.json()["erp_document_id"] == "REV-000001"
    again = await client.post("/erp/revenue/recognitions", json=body)
    assert again.status_code == 200 and again.json()["erp_document_id"] == "REV-000001"
    assert await _due(client, "2026-10") == []
    # 300.00 deferred, 100.00 released: 200.00 left on the account and on the schedules.
    balance = await client.get(
        "/erp/revenue/deferred-balance", params={"currency": "USD", "account": DEFERRED}
    )
    assert balance.json() == {
        "currency": "USD",
        "account": DEFERRED,
        "ledger": "200.00",
        "scheduled": "200.00",
    }
    moved = (await client.get("/erp/revenue/movements")).json()
    assert moved == [
        {"month": "2026-10", "currency": "USD", "billed": "300.00", "recognised": "100.00"}
    ]


async def test_a_closed_month_is_refused_with_the_next_open_one(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/erp/postings", json=_scheduled("rev:sys:2"))
    for month in ("2026-10", "2026-11"):
        closed = await client.post(f"/erp/periods/{month}/close")
        assert closed.status_code == 200
    due = await _due(client, "2026-10")
    refused = await client.post(
        "/erp/revenue/recognitions", json=_recognition("revenue:2026-10:USD", [due[0]["id"]])
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "period_closed"
    assert refused.json()["next_open"] == "2026-12"
    assert len(await _due(client, "2026-10")) == 1, "nothing was released"
    moved = await client.post(
        "/erp/revenue/recognitions",
        json=_recognition("revenue:2026-10:USD", [due[0]["id"]], period="2026-12")
        | {"reason": "2026-10 is closed"},
    )
    assert moved.status_code == 201
    assert moved.json()["period"] == "2026-12" and moved.json()["reason"] == "2026-10 is closed"


async def test_currency_mismatch_and_unknown_lines_are_refused_by_field(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/erp/postings", json=_scheduled("rev:sys:3"))
    due = await _due(client, "2026-10")
    refused = await client.post(
        "/erp/revenue/recognitions",
        json=_recognition("revenue:2026-10:EUR", [due[0]["id"], 999999], currency="EUR"),
    )
    assert refused.status_code == 422
    problems = {tuple(p["loc"]): p["msg"] for p in refused.json()["detail"]}
    assert "currency mismatch" in problems[("schedule_line_ids", 0)]
    assert "no schedule line 999999" in problems[("schedule_line_ids", 1)]
    assert len(await _due(client, "2026-10")) == 1
    listed = await client.get("/erp/revenue/recognitions")
    assert listed.json() == []


async def test_a_schedule_that_does_not_sum_to_its_line_is_refused(
    client: httpx.AsyncClient,
) -> None:
    body = _scheduled("rev:sys:4")
    body["revenue_schedule"][2]["amount"] = "99.99"
    refused = await client.post("/erp/postings", json=body)
    assert refused.status_code == 422
    assert "line L1's entries sum to 299.99, the line is 300.00" in refused.text
    assert (await client.get("/erp/postings/rev:sys:4")).status_code == 404


async def test_an_unscheduled_posting_hashes_as_before(client: httpx.AsyncClient) -> None:
    # A document posted without a schedule keeps its content hash: a retry from a worker
    # that posts schedules' absence the old way (no revenue fields) is the same post.
    plain = _request("rev:sys:5")
    first = await client.post("/erp/postings", json=plain)
    again = await client.post("/erp/postings", json=plain | {"revenue_schedule": []})
    assert (first.status_code, again.status_code) == (201, 200)
