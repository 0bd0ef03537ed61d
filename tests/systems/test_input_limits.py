"""Hostile input to the systems service: NaN and Infinity, bodies over the limit, NUL
characters, and errors that must not send the input back. Each answer is a 4xx naming the
field or the limit, on SQLite and PostgreSQL alike."""

import copy
import json
from typing import Any

import httpx
import pytest

from tests.systems.conftest import Target, serve
from tests.systems.test_crm import CONTRACT, CUSTOMER
from tests.systems.test_erp import _request

NAN_BODIES: list[tuple[str, str, dict[str, Any], str]] = [
    ("PUT", "/crm/customers/CU-NAN", CUSTOMER | {"name": "__NAN__"}, "NaN"),
    ("PUT", "/crm/contracts/C-NAN", CONTRACT | {"minimum_commitment": "__NAN__"}, "NaN"),
    ("PUT", "/usage/metrics/nan", {"name": "__NAN__", "aggregation": "count"}, "Infinity"),
    ("PUT", "/admin/faults", {"system": "erp", "error_rate": "__NAN__"}, "NaN"),
    (
        "POST",
        "/erp/postings",
        _request("q2c:C-NAN:cycle") | {"posting_key": "__NAN__"},
        "-Infinity",
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "constant"),
    NAN_BODIES,
    ids=[f"{m} {p}" for m, p, _, _ in NAN_BODIES],
)
async def test_nan_and_infinity_are_refused_with_422(
    client: httpx.AsyncClient, method: str, path: str, body: dict[str, Any], constant: str
) -> None:
    # Python's json module writes and reads these tokens; JSON (RFC 8259) has no such numbers.
    raw = json.dumps(body).replace('"__NAN__"', constant)
    response = await client.request(
        method, path, content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    (problem,) = response.json()["detail"]
    assert problem["msg"] == f"{constant} is not a JSON number"


async def test_a_body_over_the_configured_limit_is_413_declared_or_streamed(
    target: Target,
) -> None:
    body = json.dumps(CUSTOMER | {"name": "x" * 20_000}).encode()
    async with serve(target.settings(max_body_bytes=10_000)) as http:
        declared = await http.put("/crm/customers/CU-BIG", content=body)
        assert declared.status_code == 413
        assert declared.json() == {"detail": "body: over the limit of 10000 bytes"}

        async def chunks() -> Any:  # no content-length: the size is counted as it arrives
            for start in range(0, len(body), 4096):
                yield body[start : start + 4096]

        streamed = await http.put("/crm/customers/CU-BIG", content=chunks())
        assert streamed.status_code == 413
        assert (await http.get("/crm/customers/CU-BIG")).status_code == 404
        small = await http.put("/crm/customers/CU-SMALL", json=CUSTOMER)
        assert small.status_code == 201


async def test_the_default_limit_refuses_twenty_megabytes(client: httpx.AsyncClient) -> None:
    response = await client.put(
        "/crm/customers/CU-HUGE", json=CUSTOMER | {"name": "y" * 20_000_000}
    )
    assert response.status_code == 413
    assert len(response.content) < 200


async def test_a_422_never_sends_a_large_input_back(client: httpx.AsyncClient) -> None:
    wrong = {"customer_type": "z" * 900_000, "address": {"country": "q" * 50_000}}
    response = await client.put("/crm/customers/CU-ECHO", json=CUSTOMER | wrong)
    assert response.status_code == 422
    assert len(response.content) < 2_000, len(response.content)
    assert "zzzzzzzzzz" not in response.text
    locs = [problem["loc"] for problem in response.json()["detail"]]
    assert ["body", "customer_type"] in locs


async def test_a_long_decimal_is_named_not_echoed(client: httpx.AsyncClient) -> None:
    response = await client.put(
        "/crm/contracts/C-LONG", json=CONTRACT | {"minimum_commitment": "9" * 200_000 + "x"}
    )
    assert response.status_code == 422
    assert len(response.content) < 2_000, len(response.content)


def _posting(key: str) -> dict[str, Any]:
    return _request(key, contract_id=f"C-{key}", customer_id=f"CU-{key}")


@pytest.mark.parametrize(
    ("change", "loc", "message"),
    [
        (
            lambda b: b["invoice"]["lines"][0].update(amount="400.00"),
            ["body", "invoice", "subtotal"],
            "500.00 is not the sum of the lines' amounts (400.00)",
        ),
        (
            lambda b: b["invoice"]["tax_lines"][0].update(tax_amount="4.44"),
            ["body", "invoice", "tax_total"],
            "44.40 is not the sum of the tax lines' amounts (4.44)",
        ),
        (
            # Balanced, but ten times the invoice: 544.40 × 10 on each side.
            lambda b: b.update(
                journal=[
                    {"account": "1200 Accounts receivable", "debit": "5444.00", "credit": "0"},
                    {"account": "4000 Revenue", "debit": "0", "credit": "5444.00"},
                ]
            ),
            ["body", "journal"],
            "debits and credits of 5444.00 each; the invoice total is 544.40",
        ),
    ],
    ids=["lines-vs-subtotal", "tax-lines-vs-tax-total", "journal-vs-total"],
)
async def test_the_erp_refuses_a_posting_whose_parts_do_not_make_its_totals(
    client: httpx.AsyncClient, change: Any, loc: list[str], message: str
) -> None:
    body = copy.deepcopy(_posting("adds-up"))
    change(body)
    response = await client.post("/erp/postings", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == [{"type": "value_error", "loc": loc, "msg": message}]
    assert (await client.get("/erp/postings", params={"contract_id": "C-adds-up"})).json() == []


async def test_a_nul_character_in_a_body_is_422_naming_the_field(client: httpx.AsyncClient) -> None:
    response = await client.put(
        "/crm/customers/CU-NUL", json=CUSTOMER | {"name": "Initech\x00SARL"}
    )
    assert response.status_code == 422, response.text
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body", "name"]
    assert "NUL" in problem["msg"]
    posting = _posting("nul")
    posting["invoice"]["lines"][0]["description"] = "fee\x00"
    response = await client.post("/erp/postings", json=posting)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "invoice", "lines", 0, "description"]
    assert (await client.get("/crm/customers/CU-NUL")).status_code == 404


@pytest.mark.parametrize(
    ("path", "params", "where"),
    [
        ("/crm/customers/CU%00X", {}, "path"),
        ("/erp/postings/q2c%00:C-1", {}, "path"),
        ("/erp/postings", {"contract_id": "C\x001"}, "query"),
        ("/usage/summary", {"contract_id": "C\x00", "period_start": "2026-10-01"}, "query"),
    ],
)
async def test_a_nul_character_in_the_path_or_query_is_422(
    client: httpx.AsyncClient, path: str, params: dict[str, str], where: str
) -> None:
    response = await client.get(path, params=params)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == [where]


async def test_json_nested_deeper_than_a_parser_goes_is_a_4xx(client: httpx.AsyncClient) -> None:
    response = await client.put(
        "/crm/customers/CU-DEEP",
        content=b'{"name": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == "JSON nested too deep"


async def test_a_body_that_is_not_utf8_is_422(client: httpx.AsyncClient) -> None:
    response = await client.put(
        "/crm/customers/CU-LATIN1",
        content='{"name": "Société"}'.encode("latin-1"),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"].startswith("not UTF-8")
