"""The demo data: loaded once, idempotent, and shaped for the demo's outcomes."""

from typing import Any

import httpx
from sqlmodel import Session
from stdnum import get_cc_module
from stdnum.de import vat as german_vat

from systems.app import create_app
from systems.db import make_engine
from systems.seed import load_seed, read_seed_data
from tests.systems.conftest import PERIOD, Target, serve

DEMO_CONTRACTS = [f"C-{n}" for n in range(1001, 1018)]
QUARTERLY = {"C-1017"}  # the annual contract invoiced quarterly (docs/calendar.md)


async def _summary(client: httpx.AsyncClient, contract_id: str) -> dict[str, str]:
    response = await client.get("/usage/summary", params={"contract_id": contract_id} | PERIOD)
    assert response.status_code == 200, response.text
    quantities: dict[str, str] = response.json()["quantities"]
    return quantities


async def test_the_demo_contracts_and_customers_are_there(seeded: httpx.AsyncClient) -> None:
    contracts = (await seeded.get("/crm/contracts")).json()
    assert [contract["id"] for contract in contracts] == DEMO_CONTRACTS
    for contract in contracts:
        customer = await seeded.get(f"/crm/customers/{contract['customer_id']}")
        assert customer.status_code == 200
        assert customer.json()["currency"] == contract["currency"]
        expected = "quarterly" if contract["id"] in QUARTERLY else "monthly"
        assert contract["billing_interval"] == expected


async def test_the_demo_usage_gives_the_documented_quantities(seeded: httpx.AsyncClient) -> None:
    expected = {
        "C-1001": {"api_calls": "120000"},
        "C-1002": {"seats": "12.58064516129032258064516129"},
        "C-1003": {"storage_gb": "250", "payments": "1630"},
        "C-1004": {"messages": "14500"},
        "C-1005": {},
        "C-1006": {"active_users": "6"},
        "C-1007": {"sms": "430"},
        "C-1012": {"compute_hours": "140"},
    }
    for contract_id, quantities in expected.items():
        assert await _summary(seeded, contract_id) == quantities, contract_id


async def test_the_demo_edge_cases_are_in_the_master_data(seeded: httpx.AsyncClient) -> None:
    async def get(path: str) -> dict[str, Any]:
        body: dict[str, Any] = (await seeded.get(path)).json()
        return body

    massive = await get("/crm/contracts/C-1009")
    assert massive["non_standard_clauses"] == ["Custom SLA credits (clause 14.2)"]
    assert massive["owner"] == "ae.smith@q2c.example"
    broken = await get("/crm/customers/CU-1010")
    assert not german_vat.is_valid(broken["tax_id"])
    assert broken["email"] == "billing@@broken"
    lucia = await get("/crm/customers/CU-1011")
    assert (lucia["customer_type"], lucia["tax_id"], lucia["address"]["subdivision"]) == (
        "individual",
        "",
        "ES-M",
    )
    globex = await get("/crm/contracts/C-1002")
    [milestone] = [charge for charge in globex["charges"] if charge["kind"] == "one_time"]
    assert (milestone["milestone_id"], milestone["properties"]) == (
        "go-live",
        {"amount": "5000.00"},
    )


async def _versions(client: httpx.AsyncClient, contract_id: str) -> list[tuple[str, str, str]]:
    response = await client.get(f"/crm/contracts/{contract_id}/versions")
    assert response.status_code == 200, response.text
    return [
        (
            version["effective_from"],
            version["contract"]["plan"],
            version["contract"]["charges"][0]["properties"]["amount"],
        )
        for version in response.json()
    ]


async def test_c_1016_is_upgraded_from_the_16th_of_october(seeded: httpx.AsyncClient) -> None:
    assert await _versions(seeded, "C-1016") == [
        ("2026-01-01", "Growth", "800.00"),
        ("2026-10-16", "Scale", "1500.00"),
    ]
    before = (await seeded.get("/crm/contracts/C-1016", params={"as_of": "2026-10-15"})).json()
    assert (before["plan"], before["charges"][0]["pay_in_advance"]) == ("Growth", True)
    assert (await seeded.get("/crm/contracts/C-1016")).json()["plan"] == "Scale"
    assert await _versions(seeded, "C-1001") == [("2026-01-01", "Growth", "500.00")]


def test_the_valid_tax_ids_pass_their_checksums() -> None:
    data = read_seed_data()
    for customer in data.customers:
        if not customer.tax_id or customer.id == "CU-1010":
            continue
        assert customer.address is not None
        country = customer.address.country.lower()
        kind = {"us": "ein", "ca": "bn", "au": "abn"}.get(country, "vat")
        module = get_cc_module(country, kind)
        assert module is not None, country
        assert module.is_valid(customer.tax_id), customer.id


def test_every_usage_charge_has_a_metric_and_events_in_the_period() -> None:
    data = read_seed_data()
    metrics = {metric.code for metric in data.metrics}
    used = {
        charge.metric for contract in data.contracts for charge in contract.charges if charge.metric
    }
    assert used == metrics
    for event in data.usage_events:
        day = event.timestamp.date().isoformat()
        if event.contract_id in QUARTERLY:  # its third and fourth quarters of 2026
            assert "2026-07-01" <= day < "2027-01-01"
            continue
        assert PERIOD["period_start"] <= day < PERIOD["period_end"]


async def test_loading_the_seed_twice_changes_nothing(target: Target) -> None:
    async with serve(target.settings(seed=True)) as http:
        before = (await http.get("/crm/contracts")).json()
        versions = await _versions(http, "C-1016")
        summary = await _summary(http, "C-1001")
    engine = make_engine(url=target.url, schema=target.schema)
    try:
        with Session(engine) as session:
            report = load_seed(session=session)
    finally:
        engine.dispose()
    assert (report.contracts, report.events_accepted, report.events_duplicates) == (17, 0, 45)
    async with serve(target.settings(seed=True)) as http:
        assert (await http.get("/crm/contracts")).json() == before
        assert await _versions(http, "C-1016") == versions
        assert await _summary(http, "C-1001") == summary


async def test_a_database_with_data_is_not_reseeded(target: Target) -> None:
    async with serve(target.settings(seed=True)) as http:
        await http.put(
            "/crm/contracts/C-1001",
            json=(await http.get("/crm/contracts/C-1001")).json() | {"plan": "Changed"},
        )
    async with serve(target.settings(seed=True)) as http:
        assert (await http.get("/crm/contracts/C-1001")).json()["plan"] == "Changed"
    app = create_app(settings=target.settings(seed=False), force_seed=True)
    async with app.router.lifespan_context(app):
        pass
    async with serve(target.settings(seed=False)) as http:
        assert (await http.get("/crm/contracts/C-1001")).json()["plan"] == "Growth"


async def test_no_seed_means_an_empty_database(client: httpx.AsyncClient) -> None:
    assert (await client.get("/crm/contracts")).json() == []
