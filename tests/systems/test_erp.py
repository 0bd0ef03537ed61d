"""ERP: one posting per key, read back as stored, balanced journals, gapless numbers."""

import asyncio
import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlmodel import Session

from systems.crud import erp
from systems.db import create_tables, make_engine
from systems.errors import Conflict
from systems.models.erp import Posting, PostingRequest
from tests.systems.conftest import Target

KEY = "q2c:C-1001:cycle:2026-10-01:2026-11-01"


def _request(
    key: str = KEY,
    *,
    customer_id: str = "CU-1001",
    contract_id: str = "C-1001",
    period_start: str = "2026-10-01",
    period_end: str = "2026-11-01",
    subtotal: str = "500.00",
    tax: str = "44.40",
    currency: str = "USD",
    document_type: str = "invoice",
) -> dict[str, Any]:
    total = str(Decimal(subtotal) + Decimal(tax))
    return {
        "posting_key": key,
        "invoice": {
            "invoice_id": f"{key}:invoice",
            "document_type": document_type,
            "contract_id": contract_id,
            "customer_id": customer_id,
            "currency": currency,
            "period_start": period_start,
            "period_end": period_end,
            "lines": [
                {
                    "line_id": "L1",
                    "charge_id": "c1001-platform",
                    "description": "Platform fee",
                    "charge_model": "standard",
                    "quantity": None,
                    "unit_amount": None,
                    "amount": subtotal,
                    "unrounded_amount": subtotal,
                    "rule": f"recurring fee {subtotal}",
                    "period_start": period_start,
                    "period_end": period_end,
                    "erp_item_code": "SAAS-PLATFORM",
                }
            ],
            "tax_lines": [
                {
                    "line_id": "L1",
                    "country": "US",
                    "subdivision": "US-NY",
                    "jurisdiction": "New York",
                    "level": "state",
                    "tax_type": "sales_tax",
                    "rate": "0.08875",
                    "taxable_amount": subtotal,
                    "tax_amount": tax,
                    "unrounded_tax_amount": "44.375",
                    "taxability_reason": "standard_rated",
                    "rule_id": "us-ny",
                    "source": "builtin",
                    "category_code": "S",
                }
            ],
            "subtotal": subtotal,
            "tax_total": tax,
            "total": total,
            "notes": [],
        },
        "journal": [
            {"account": "1200 Accounts receivable", "debit": total, "credit": "0"},
            {"account": "4000 Revenue", "debit": "0", "credit": subtotal},
            {"account": "2200 Sales tax payable", "debit": "0", "credit": tax},
        ],
    }


async def _post(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await client.post("/erp/postings", json=body)


async def test_a_first_post_is_created_with_a_document_number(client: httpx.AsyncClient) -> None:
    response = await _post(client, _request())
    assert response.status_code == 201
    body = response.json()
    assert body["posting_key"] == KEY
    assert body["erp_document_id"] == "INV-000001"
    assert body["posted_at"].endswith("Z")


async def test_the_posting_reads_back_exactly_as_posted(client: httpx.AsyncClient) -> None:
    request = _request()
    await _post(client, request)
    response = await client.get(f"/erp/postings/{KEY}")
    assert response.status_code == 200
    stored = response.json()
    assert stored["invoice"] == request["invoice"]
    assert stored["journal"] == [entry | {"description": ""} for entry in request["journal"]]


async def test_the_same_post_again_returns_the_stored_posting(client: httpx.AsyncClient) -> None:
    first = (await _post(client, _request())).json()
    again = await _post(client, _request())
    assert again.status_code == 200
    assert again.json() == first


async def test_the_same_amounts_written_differently_are_the_same_post(
    client: httpx.AsyncClient,
) -> None:
    first = (await _post(client, _request())).json()
    rewritten = _request()
    rewritten["journal"][0]["credit"] = "0.00"
    rewritten["invoice"]["tax_lines"][0]["rate"] = "0.088750"
    again = await _post(client, rewritten)
    assert again.status_code == 200
    assert again.json()["erp_document_id"] == first["erp_document_id"]


async def test_the_same_key_with_other_content_is_a_conflict(client: httpx.AsyncClient) -> None:
    await _post(client, _request())
    changed = _request()
    changed["invoice"]["notes"] = ["edited"]
    response = await _post(client, changed)
    assert response.status_code == 409
    assert response.json() == {
        "detail": f"posting key {KEY} already posted with different content (as INV-000001)"
    }
    assert (await client.get(f"/erp/postings/{KEY}")).json()["invoice"]["notes"] == []


async def test_document_numbers_have_no_gaps(client: httpx.AsyncClient) -> None:
    await _post(client, _request("k1"))
    await _post(client, _request("k1"))
    conflicting = _request("k1")
    conflicting["invoice"]["notes"] = ["x"]
    assert (await _post(client, conflicting)).status_code == 409
    second = await _post(client, _request("k2"))
    credit = await _post(client, _request("k3", document_type="credit_note"))
    third = await _post(client, _request("k4"))
    assert [r.json()["erp_document_id"] for r in (second, credit, third)] == [
        "INV-000002",
        "CN-000001",
        "INV-000003",
    ]


async def test_an_unbalanced_journal_is_422_naming_the_journal(client: httpx.AsyncClient) -> None:
    request = _request()
    request["journal"][1]["credit"] = "499.99"
    response = await _post(client, request)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "journal"]
    assert "debits 544.40 do not equal credits 544.39" in error["msg"]
    assert (await client.get(f"/erp/postings/{KEY}")).status_code == 404


async def test_posting_input_errors_name_their_field(client: httpx.AsyncClient) -> None:
    def edited(path: list[str | int], value: object) -> dict[str, Any]:
        request = copy.deepcopy(_request())
        node: Any = request
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = value
        return request

    cases: dict[tuple[str | int, ...], dict[str, Any]] = {
        ("body", "journal", 0, "debit"): edited(["journal", 0, "debit"], 544.4),
        ("body", "journal", 1, "credit"): edited(["journal", 1, "credit"], "-500.00"),
        ("body", "journal", 2, "credit"): edited(["journal", 2, "credit"], "44.4000001"),
        ("body", "journal"): edited(["journal"], []),
        ("body", "posting_key"): edited(["posting_key"], ""),
        ("body", "invoice"): edited(["invoice", "total"], "544.41"),
        ("body", "invoice", "currency"): edited(["invoice", "currency"], "usd"),
        ("body", "invoice", "period_start"): edited(["invoice", "period_start"], "October"),
        ("body", "invoice", "lines", 0, "amount"): edited(["invoice", "lines", 0, "amount"], 1.5),
    }
    for loc, request in cases.items():
        response = await _post(client, request)
        assert response.status_code == 422, loc
        assert [tuple(error["loc"]) for error in response.json()["detail"]] == [loc], loc


async def test_concurrent_posts_of_one_key_make_one_posting(client: httpx.AsyncClient) -> None:
    responses = await asyncio.gather(*(_post(client, _request()) for _ in range(8)))
    assert sorted(r.status_code for r in responses) == [200] * 7 + [201]
    assert {r.json()["erp_document_id"] for r in responses} == {"INV-000001"}
    assert len((await client.get("/erp/postings")).json()) == 1
    totals = (await client.get("/erp/journal/totals")).json()
    assert (totals["postings"], totals["debits"], totals["credits"]) == (1, "544.40", "544.40")


async def test_concurrent_posts_of_different_keys_get_distinct_numbers(
    client: httpx.AsyncClient,
) -> None:
    responses = await asyncio.gather(*(_post(client, _request(f"k{n}")) for n in range(6)))
    assert {r.status_code for r in responses} == {201}
    numbers = sorted(r.json()["erp_document_id"] for r in responses)
    assert numbers == [f"INV-{n:06d}" for n in range(1, 7)]


def _exclusive(key: str, **fields: Any) -> dict[str, Any]:
    return {**_request(key, **fields), "exclusive_service_periods": True}


async def test_of_invoices_billing_one_fee_and_period_at_once_one_is_posted(
    client: httpx.AsyncClient,
) -> None:
    # Six runs' invoices of C-1001's platform fee for October, posted at the same moment.
    keys = [f"q2c:C-1001:run{n}" for n in range(6)]
    responses = await asyncio.gather(*(_post(client, _exclusive(key)) for key in keys))
    assert sorted(r.status_code for r in responses) == [201] + [409] * 5
    winner = next(r.json() for r in responses if r.status_code == 201)
    for refused in (r for r in responses if r.status_code == 409):
        assert refused.json()["detail"] == (
            "the c1001-platform fee for 2026-10-01 to 2026-11-01 is already billed by "
            f"{winner['erp_document_id']} (posting key {winner['posting_key']}): nothing posted"
        )
    assert [p["posting_key"] for p in (await client.get("/erp/postings")).json()] == [
        winner["posting_key"]
    ]
    # The refused posts gave their numbers back: the next document is INV-000002.
    other = await _post(client, _exclusive("q2c:C-1001:nov", **_NOVEMBER))
    assert (other.status_code, other.json()["erp_document_id"]) == (201, "INV-000002")


_NOVEMBER = {"period_start": "2026-11-01", "period_end": "2026-12-01"}


async def test_an_exclusive_post_is_refused_only_by_another_invoice_of_its_fee_and_period(
    client: httpx.AsyncClient,
) -> None:
    first = await _post(client, _exclusive(KEY))
    assert first.status_code == 201
    # Its own retry, with or without the flag (not part of the content), is the same posting.
    assert (await _post(client, _exclusive(KEY))).status_code == 200
    assert (await _post(client, _request(KEY))).status_code == 200
    # Another contract, another period, a credit note, or a post without the flag: posted.
    assert (await _post(client, _exclusive("k-c2", contract_id="C-1002"))).status_code == 201
    assert (await _post(client, _exclusive("k-nov", **_NOVEMBER))).status_code == 201
    assert (await _post(client, _request("k-cn", document_type="credit_note"))).status_code == 201
    assert (await _post(client, _request("k-plain"))).status_code == 201
    refused = await _post(client, _exclusive("k-again"))
    assert refused.status_code == 409
    assert "already billed by INV-000001" in refused.json()["detail"]


async def test_a_key_with_slashes_and_colons_is_routed(client: httpx.AsyncClient) -> None:
    key = "q2c:C-1/7:milestone:go-live"
    await _post(client, _request(key))
    response = await client.get(f"/erp/postings/{key}")
    assert response.status_code == 200
    assert response.json()["posting_key"] == key


async def test_an_unknown_posting_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/erp/postings/q2c:none")
    assert response.status_code == 404
    assert response.json() == {"detail": "posting q2c:none not found"}


async def test_postings_are_listed_by_contract_and_customer(client: httpx.AsyncClient) -> None:
    await _post(client, _request("a", contract_id="C-1", customer_id="CU-1"))
    await _post(client, _request("b", contract_id="C-2", customer_id="CU-1"))
    await _post(client, _request("c", contract_id="C-3", customer_id="CU-3"))

    async def keys(**params: str) -> list[str]:
        listed = (await client.get("/erp/postings", params=params)).json()
        return [posting["posting_key"] for posting in listed]

    assert await keys() == ["a", "b", "c"]
    assert await keys(customer_id="CU-1") == ["a", "b"]
    assert await keys(contract_id="C-2") == ["b"]
    assert await keys(contract_id="C-2", customer_id="CU-3") == []


async def test_invoice_history_lists_the_latest_periods_first(client: httpx.AsyncClient) -> None:
    for month, subtotal in [("07", "455.60"), ("09", "565.60"), ("08", "500.00")]:
        start, end = f"2026-{month}-01", f"2026-{int(month) + 1:02d}-01"
        request = _request(f"h{month}", period_start=start, period_end=end, subtotal=subtotal)
        await _post(client, request)
    await _post(client, _request("other", customer_id="CU-2"))
    history = (await client.get("/erp/customers/CU-1001/invoice-history")).json()
    assert [(item["period_start"], item["total"]) for item in history] == [
        ("2026-09-01", "610.00"),
        ("2026-08-01", "544.40"),
        ("2026-07-01", "500.00"),
    ]
    assert set(history[0]) == {
        "posting_key",
        "erp_document_id",
        "invoice_id",
        "period_start",
        "period_end",
        "total",
        "currency",
        "posted_at",
    }
    limited = await client.get(
        "/erp/customers/CU-1001/invoice-history", params={"limit": 1, "before": "2026-09-01"}
    )
    assert [item["posting_key"] for item in limited.json()] == ["h08"]
    bad = await client.get("/erp/customers/CU-1001/invoice-history", params={"limit": 0})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "limit"]


async def test_journal_totals_add_up_per_currency(client: httpx.AsyncClient) -> None:
    assert (await client.get("/erp/journal/totals")).json() == {
        "debits": "0.00",
        "credits": "0.00",
        "postings": 0,
        "by_currency": {},
    }
    await _post(client, _request("u1"))
    await _post(client, _request("u2", subtotal="100.00", tax="0.00"))
    await _post(client, _request("e1", currency="EUR"))
    await _post(client, _request("j1", currency="JPY", subtotal="5000", tax="444"))
    totals = (await client.get("/erp/journal/totals")).json()
    assert totals["by_currency"] == {
        "EUR": {"debits": "544.40", "credits": "544.40", "postings": 1},
        "JPY": {"debits": "5444", "credits": "5444", "postings": 1},
        "USD": {"debits": "644.40", "credits": "644.40", "postings": 2},
    }
    assert (totals["debits"], totals["credits"], totals["postings"]) == ("6632.80", "6632.80", 4)


async def test_a_total_finer_than_the_currency_is_not_rounded_away(
    client: httpx.AsyncClient,
) -> None:
    await _post(client, _request("j2", currency="JPY", subtotal="5000.5", tax="0"))
    totals = (await client.get("/erp/journal/totals")).json()
    assert totals["by_currency"]["JPY"]["debits"] == "5000.5"


def _race_past_the_first_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the first lookup miss, as when a concurrent post commits right after it."""
    real = erp.get_posting
    calls = 0

    def lookup(*, session: Session, posting_key: str) -> Posting | None:
        nonlocal calls
        calls += 1
        return None if calls == 1 else real(session=session, posting_key=posting_key)

    monkeypatch.setattr(erp, "get_posting", lookup)


def test_a_post_that_loses_the_race_returns_the_winner(
    target: Target, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(url=target.url, schema=target.schema)
    try:
        create_tables(engine=engine, schema=target.schema)
        request = PostingRequest.model_validate(_request())
        now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
        with Session(engine) as session:
            winner, created = erp.post_invoice(session=session, request=request, now=now)
        assert created
        _race_past_the_first_check(monkeypatch)
        with Session(engine) as session:
            loser, created = erp.post_invoice(session=session, request=request, now=now)
            assert (loser.erp_document_id, created) == (winner.erp_document_id, False)
            assert len(erp.list_postings(session=session)) == 1
        _race_past_the_first_check(monkeypatch)
        changed = request.model_copy(deep=True)
        changed.invoice.notes.append("changed")
        with Session(engine) as session, pytest.raises(Conflict, match="different content"):
            erp.post_invoice(session=session, request=changed, now=now)
    finally:
        engine.dispose()
