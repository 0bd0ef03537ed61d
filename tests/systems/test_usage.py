"""Usage platform: metrics, idempotent ingestion, and every aggregation on hand-computed data."""

from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.systems.conftest import PERIOD

METRICS: dict[str, dict[str, Any]] = {
    "calls": {"name": "API calls", "aggregation": "count"},
    "volume": {"name": "Data volume", "aggregation": "sum", "field_name": "gb"},
    "peak": {"name": "Peak storage", "aggregation": "max", "field_name": "gb"},
    "users": {"name": "Active users", "aggregation": "unique_count", "field_name": "user"},
    "level": {"name": "Tank level", "aggregation": "latest", "field_name": "litres"},
    "seats": {"name": "Seats", "aggregation": "weighted_sum", "field_name": "seats"},
    "storage": {
        "name": "Stored GB",
        "aggregation": "weighted_sum",
        "field_name": "gb",
        "recurring": True,
    },
    "idle": {"name": "Never used", "aggregation": "sum", "field_name": "n"},
}


def _contract(metrics: list[str]) -> dict[str, Any]:
    return {
        "customer_id": "CU-1",
        "currency": "USD",
        "plan": "Usage",
        "start_date": "2026-01-01",
        "charges": [
            {
                "id": code,
                "description": code,
                "kind": "usage",
                "metric": code,
                "properties": {"amount": "1"},
            }
            for code in metrics
        ],
    }


def _event(n: int, metric: str, timestamp: str, **properties: object) -> dict[str, Any]:
    return {
        "transaction_id": f"tx-{metric}-{n}",
        "contract_id": "C-1",
        "metric": metric,
        "timestamp": timestamp,
        "properties": properties,
    }


@pytest.fixture
async def metered(client: httpx.AsyncClient) -> httpx.AsyncClient:
    for code, body in METRICS.items():
        assert (await client.put(f"/usage/metrics/{code}", json=body)).status_code == 201
    response = await client.put("/crm/contracts/C-1", json=_contract(list(METRICS)))
    assert response.status_code == 201
    return client


async def _ingest(client: httpx.AsyncClient, *events: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/usage/events", json={"events": list(events)})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _summary(client: httpx.AsyncClient, contract_id: str = "C-1") -> dict[str, Any]:
    response = await client.get("/usage/summary", params={"contract_id": contract_id} | PERIOD)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_metrics_are_upserted_and_listed(client: httpx.AsyncClient) -> None:
    assert (await client.put("/usage/metrics/calls", json=METRICS["calls"])).status_code == 201
    again = await client.put("/usage/metrics/calls", json=METRICS["calls"] | {"name": "Calls"})
    assert again.status_code == 200
    assert (await client.get("/usage/metrics")).json() == [
        {
            "code": "calls",
            "name": "Calls",
            "aggregation": "count",
            "field_name": None,
            "recurring": False,
        }
    ]


async def test_a_metric_other_than_count_needs_a_field_name(client: httpx.AsyncClient) -> None:
    response = await client.put("/usage/metrics/x", json={"name": "x", "aggregation": "sum"})
    assert response.status_code == 422
    assert "field_name: is required for sum aggregation" in response.text


async def test_an_unknown_aggregation_is_422(client: httpx.AsyncClient) -> None:
    response = await client.put("/usage/metrics/x", json={"name": "x", "aggregation": "avg"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "aggregation"]


async def test_a_repeated_transaction_id_is_counted_once(metered: httpx.AsyncClient) -> None:
    first = _event(1, "calls", "2026-10-02T00:00:00Z")
    second = _event(2, "calls", "2026-10-03T00:00:00Z")
    assert await _ingest(metered, first, second, first) == {"accepted": 2, "duplicates": 1}
    assert await _ingest(metered, first, second) == {"accepted": 0, "duplicates": 2}
    assert (await _summary(metered))["quantities"]["calls"] == "2"


async def test_count_sum_max_unique_and_latest(metered: httpx.AsyncClient) -> None:
    await _ingest(
        metered,
        *(_event(n, "calls", f"2026-10-0{n}T12:00:00Z") for n in range(1, 5)),
        _event(1, "volume", "2026-10-02T00:00:00Z", gb="1.5"),
        _event(2, "volume", "2026-10-03T00:00:00+02:00", gb="2.25"),
        _event(3, "volume", "2026-10-04T00:00:00Z", gb=3),
        _event(1, "peak", "2026-10-02T00:00:00Z", gb="3.5"),
        _event(2, "peak", "2026-10-03T00:00:00Z", gb="12.25"),
        _event(3, "peak", "2026-10-04T00:00:00Z", gb=7),
        _event(1, "users", "2026-10-02T00:00:00Z", user="a"),
        _event(2, "users", "2026-10-03T00:00:00Z", user="b"),
        _event(3, "users", "2026-10-04T00:00:00Z", user="a"),
        _event(4, "users", "2026-10-05T00:00:00Z", user=7),
        _event(5, "users", "2026-10-06T00:00:00Z", user="7"),
        _event(1, "level", "2026-10-03T00:00:00Z", litres="5"),
        _event(2, "level", "2026-10-20T00:00:00Z", litres="7"),
        _event(3, "level", "2026-10-10T00:00:00Z", litres="2"),
    )
    summary = await _summary(metered)
    assert summary["quantities"] | {} == {
        "calls": "4",
        "volume": "6.75",
        "peak": "12.25",
        "users": "3",
        "level": "7",
        "seats": "0",
        "storage": "0",
        "idle": "0",
    }
    assert summary["events"] == {"volume": ["1.5", "2.25", "3"], "idle": []}
    assert (summary["contract_id"], summary["period_start"], summary["period_end"]) == (
        "C-1",
        "2026-10-01",
        "2026-11-01",
    )


async def test_the_period_includes_its_start_and_excludes_its_end(
    metered: httpx.AsyncClient,
) -> None:
    await _ingest(
        metered,
        _event(1, "volume", "2026-09-30T23:59:59.999999Z", gb="1"),
        _event(2, "volume", "2026-10-01T00:00:00Z", gb="10"),
        _event(3, "volume", "2026-10-31T23:59:59Z", gb="100"),
        _event(4, "volume", "2026-11-01T00:00:00Z", gb="1000"),
        _event(5, "volume", "2026-11-01T00:30:00+01:00", gb="10000"),
    )
    assert (await _summary(metered))["quantities"]["volume"] == "10110"


async def test_weighted_sum_weighs_each_level_by_the_time_it_held(
    metered: httpx.AsyncClient,
) -> None:
    # 10 seats for 15 days, 15 for 10 days, 12 for 6 days: (150 + 150 + 72) / 31 = 12.
    await _ingest(
        metered,
        _event(1, "seats", "2026-10-01T00:00:00Z", seats=10),
        _event(2, "seats", "2026-10-16T00:00:00Z", seats=5),
        _event(3, "seats", "2026-10-26T00:00:00Z", seats=-3),
    )
    assert (await _summary(metered))["quantities"]["seats"] == "12"


async def test_weighted_sum_starts_from_zero_until_the_first_event(
    metered: httpx.AsyncClient,
) -> None:
    # 31 seats from the 16th at noon: 31 x 15.5 / 31 days.
    await _ingest(metered, _event(1, "seats", "2026-10-16T12:00:00Z", seats=31))
    assert (await _summary(metered))["quantities"]["seats"] == "15.5"


async def test_a_recurring_weighted_sum_carries_the_level_over(metered: httpx.AsyncClient) -> None:
    # 4 GB carried in; then 14 for 15 days, 19 for 10, 16 for 6: (210 + 190 + 96) / 31 = 16.
    await _ingest(
        metered,
        _event(0, "storage", "2026-09-10T08:00:00Z", gb=4),
        _event(1, "storage", "2026-10-01T00:00:00Z", gb=10),
        _event(2, "storage", "2026-10-16T00:00:00Z", gb=5),
        _event(3, "storage", "2026-10-26T00:00:00Z", gb=-3),
        _event(4, "storage", "2026-11-05T00:00:00Z", gb=100),
    )
    assert (await _summary(metered))["quantities"]["storage"] == "16"


async def test_a_recurring_level_counts_without_events_in_the_period(
    metered: httpx.AsyncClient,
) -> None:
    await _ingest(metered, _event(0, "storage", "2026-08-01T00:00:00Z", gb="2.5"))
    assert (await _summary(metered))["quantities"]["storage"] == "2.5"


async def test_a_weighted_sum_of_a_third_is_exact_to_28_digits(
    metered: httpx.AsyncClient,
) -> None:
    await _ingest(metered, _event(1, "seats", "2026-10-21T16:00:00Z", seats=1))
    quantity = Decimal((await _summary(metered))["quantities"]["seats"])
    # 10 days and 8 hours of 31 days = 248 / 744 hours = 1/3.
    assert quantity == Decimal(1) / Decimal(3)


async def test_events_of_other_contracts_are_not_counted(metered: httpx.AsyncClient) -> None:
    other = _event(9, "calls", "2026-10-02T00:00:00Z") | {"contract_id": "C-2"}
    await _ingest(metered, other, _event(1, "calls", "2026-10-02T00:00:00Z"))
    assert (await _summary(metered))["quantities"]["calls"] == "1"


async def test_a_metric_with_events_but_no_charge_is_reported(
    client: httpx.AsyncClient,
) -> None:
    await client.put("/usage/metrics/calls", json=METRICS["calls"])
    await client.put("/crm/contracts/C-1", json=_contract([]))
    await _ingest(client, _event(1, "calls", "2026-10-02T00:00:00Z"))
    assert (await _summary(client))["quantities"] == {"calls": "1"}


async def test_the_summary_of_an_unknown_contract_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/usage/summary", params={"contract_id": "C-404"} | PERIOD)
    assert response.status_code == 404
    assert response.json() == {"detail": "contract C-404 not found"}


async def test_summary_parameters_are_checked(metered: httpx.AsyncClient) -> None:
    backwards = {"contract_id": "C-1", "period_start": "2026-11-01", "period_end": "2026-10-01"}
    response = await metered.get("/usage/summary", params=backwards)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "period_end"]
    missing = await metered.get("/usage/summary", params={"contract_id": "C-1"})
    assert missing.status_code == 422
    assert {tuple(e["loc"]) for e in missing.json()["detail"]} == {
        ("query", "period_start"),
        ("query", "period_end"),
    }


BAD_EVENTS: list[tuple[dict[str, Any], list[object], str]] = [
    (
        _event(1, "nope", "2026-10-02T00:00:00Z"),
        ["body", "events", 1, "metric"],
        "unknown metric 'nope'",
    ),
    (
        _event(1, "volume", "2026-10-02T00:00:00Z"),
        ["body", "events", 1, "properties", "gb"],
        "is required by metric volume (sum)",
    ),
    (
        _event(1, "volume", "2026-10-02T00:00:00Z", gb=1.5),
        ["body", "events", 1, "properties", "gb"],
        "must be a decimal string or an integer, not a float",
    ),
    (
        _event(1, "volume", "2026-10-02T00:00:00Z", gb="lots"),
        ["body", "events", 1, "properties", "gb"],
        "'lots' is not a number",
    ),
    (
        _event(1, "volume", "2026-10-02T00:00:00Z", gb="0.0000001"),
        ["body", "events", 1, "properties", "gb"],
        "has more than 6 decimal places",
    ),
    (
        _event(1, "volume", "2026-10-02T00:00:00Z", gb="NaN"),
        ["body", "events", 1, "properties", "gb"],
        "is not a finite number",
    ),
    (
        _event(1, "users", "2026-10-02T00:00:00Z", user=["a"]),
        ["body", "events", 1, "properties", "user"],
        "must be a string or an integer",
    ),
    (
        _event(1, "calls", "2026-10-02T00:00:00"),
        ["body", "events", 1, "timestamp"],
        "timezone",
    ),
    (
        _event(1, "calls", "2026-10-02T00:00:00Z") | {"transaction_id": ""},
        ["body", "events", 1, "transaction_id"],
        "at least 1 character",
    ),
]


async def test_a_bad_event_rejects_the_batch_naming_its_path(metered: httpx.AsyncClient) -> None:
    good = _event(0, "calls", "2026-10-02T00:00:00Z")
    for event, loc, message in BAD_EVENTS:
        response = await metered.post("/usage/events", json={"events": [good, event]})
        assert response.status_code == 422, message
        [error] = response.json()["detail"]
        assert error["loc"] == loc
        assert message in error["msg"]
    assert (await _summary(metered))["quantities"]["calls"] == "0"


async def test_an_empty_batch_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/usage/events", json={"events": []})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "events"]


async def test_a_large_batch_is_ingested_in_one_request(metered: httpx.AsyncClient) -> None:
    events = [_event(n, "volume", "2026-10-05T00:00:00Z", gb="0.5") for n in range(2000)]
    assert await _ingest(metered, *events) == {"accepted": 2000, "duplicates": 0}
    assert (await _summary(metered))["quantities"]["volume"] == "1000"
