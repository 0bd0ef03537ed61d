"""Faults on demand: errors, throttling, unavailability, latency, and lost responses."""

import time
from typing import Any

import httpx
import pytest

from systems.faults import FaultInjector, FaultRule
from systems.settings import SystemsSettings
from tests.systems.conftest import PERIOD, Target, serve
from tests.systems.test_erp import KEY, _request


async def _fault(client: httpx.AsyncClient, **rule: Any) -> None:
    response = await client.put("/admin/faults", json=rule)
    assert response.status_code == 200, response.text


async def test_an_error_rate_of_one_fails_every_request(client: httpx.AsyncClient) -> None:
    await _fault(client, system="crm", error_rate=1)
    response = await client.get("/crm/customers")
    assert response.status_code == 500
    assert response.json() == {"detail": "injected fault: crm internal error"}
    assert response.headers["x-q2c-fault"] == "error"


async def test_a_fault_touches_only_its_system(client: httpx.AsyncClient) -> None:
    await _fault(client, system="crm", error_rate=1)
    assert (await client.get("/erp/journal/totals")).status_code == 200
    assert (await client.get("/usage/metrics")).status_code == 200


async def test_throttling_answers_429_with_retry_after(client: httpx.AsyncClient) -> None:
    await _fault(client, system="usage", throttle_rate=1, retry_after_seconds=3)
    response = await client.get("/usage/summary", params={"contract_id": "C-1"} | PERIOD)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    assert "rate limit" in response.json()["detail"]


async def test_unavailability_answers_503_with_retry_after(client: httpx.AsyncClient) -> None:
    await _fault(client, system="erp", unavailable_rate=1, retry_after_seconds=2)
    response = await client.get(f"/erp/postings/{KEY}")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"


async def test_a_dropped_response_still_commits_the_posting(client: httpx.AsyncClient) -> None:
    await _fault(client, system="erp", drop_response_rate=1)
    lost = await client.post("/erp/postings", json=_request())
    assert lost.status_code == 504
    assert lost.headers["x-q2c-fault"] == "drop_response"
    assert "committed" in lost.json()["detail"]
    # Reads are never dropped: the posting is there, and a retried post finds it.
    assert (await client.get(f"/erp/postings/{KEY}")).json()["erp_document_id"] == "INV-000001"
    assert (await client.delete("/admin/faults")).json() == {"faults": []}
    retried = await client.post("/erp/postings", json=_request())
    assert (retried.status_code, retried.json()["erp_document_id"]) == (200, "INV-000001")


async def test_latency_delays_the_answer(client: httpx.AsyncClient) -> None:
    await _fault(client, system="crm", latency_ms=250)
    started = time.perf_counter()
    response = await client.get("/crm/customers")
    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.25


async def test_admin_and_healthz_are_never_faulted(client: httpx.AsyncClient) -> None:
    await _fault(client, system="*", error_rate=1, unavailable_rate=1)
    assert (await client.get("/healthz")).status_code == 200
    listed = (await client.get("/admin/faults")).json()["faults"]
    assert [rule["system"] for rule in listed] == ["crm", "usage", "erp", "payments", "peppol"]
    assert {
        (await client.get(path)).status_code for path in ("/crm/customers", "/usage/metrics")
    } == {503}


async def test_faults_are_cleared_per_system_or_all(client: httpx.AsyncClient) -> None:
    await _fault(client, system="*", error_rate=1)
    remaining = (await client.delete("/admin/faults", params={"system": "crm"})).json()
    assert [rule["system"] for rule in remaining["faults"]] == [
        "usage",
        "erp",
        "payments",
        "peppol",
    ]
    assert (await client.get("/crm/customers")).status_code == 200
    assert (await client.get("/usage/metrics")).status_code == 500
    await client.delete("/admin/faults")
    assert (await client.get("/usage/metrics")).status_code == 200


async def test_a_seed_makes_the_faults_reproducible(client: httpx.AsyncClient) -> None:
    async def statuses() -> list[int]:
        await _fault(client, system="crm", error_rate=0.5, seed=7)
        return [(await client.get("/crm/customers")).status_code for _ in range(24)]

    first = await statuses()
    assert set(first) == {200, 500}
    assert await statuses() == first


async def test_a_bad_fault_rule_is_422(client: httpx.AsyncClient) -> None:
    response = await client.put("/admin/faults", json={"system": "crm", "error_rate": 1.5})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "error_rate"]
    unknown = await client.put("/admin/faults", json={"system": "tax"})
    assert unknown.json()["detail"][0]["loc"] == ["body", "system"]


async def test_faults_can_be_set_at_start_from_the_environment(
    target: Target, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("Q2C_SYSTEMS_FAULTS", '{"system": "erp", "throttle_rate": 1}')
    settings = SystemsSettings(
        database_url=target.url, database_schema=target.schema, token="t", seed=False
    )
    assert settings.faults == [FaultRule(system="erp", throttle_rate=1)]
    async with serve(settings, token="t") as http:
        assert (await http.get("/erp/journal/totals")).status_code == 429
        assert (await http.get("/crm/customers")).status_code == 200


def test_a_list_of_rules_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "Q2C_SYSTEMS_FAULTS",
        '[{"system": "*", "latency_ms": 5}, {"system": "crm", "error_rate": 0.1}]',
    )
    injector = FaultInjector(rules=SystemsSettings().faults)
    assert [(r.system, r.latency_ms, r.error_rate) for r in injector.rules()] == [
        ("crm", 0, 0.1),
        ("usage", 5, 0),
        ("erp", 5, 0),
        ("payments", 5, 0),
        ("peppol", 5, 0),
    ]
