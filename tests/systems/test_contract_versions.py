"""CRM contract versions: an amendment keeps the old terms in force until its effective date,
a correction rewrites the current terms in place, and any day's terms can be read back."""

import asyncio
from typing import Any

import httpx
import sqlalchemy as sa

from systems.db import make_engine
from systems.models.crm import ContractVersion
from tests.systems.conftest import Target, serve


def _contract(fee: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer_id": "CU-9",
        "currency": "EUR",
        "plan": "Growth",
        "start_date": "2026-01-01",
        "charges": [
            {
                "id": "fee",
                "description": "Platform fee",
                "kind": "recurring",
                "properties": {"amount": fee},
                "pay_in_advance": True,
            }
        ],
    }
    return body | changes


def _fee(contract: dict[str, Any]) -> str:
    amount: str = contract["charges"][0]["properties"]["amount"]
    return amount


async def _amended(client: httpx.AsyncClient) -> None:
    """C-9 at 800.00 from 2026-01-01, then 1500.00 from 2026-06-01."""
    assert (await client.put("/crm/contracts/C-9", json=_contract("800.00"))).status_code == 201
    amendment = _contract("1500.00", plan="Scale", effective_from="2026-06-01")
    response = await client.put("/crm/contracts/C-9", json=amendment)
    assert response.status_code == 200, response.text
    assert (response.json()["plan"], _fee(response.json())) == ("Scale", "1500.00")


async def _as_of(client: httpx.AsyncClient, day: str) -> httpx.Response:
    return await client.get("/crm/contracts/C-9", params={"as_of": day})


async def _versions(client: httpx.AsyncClient) -> list[tuple[str, str | None, str]]:
    response = await client.get("/crm/contracts/C-9/versions")
    assert response.status_code == 200, response.text
    return [
        (version["effective_from"], version["effective_until"], _fee(version["contract"]))
        for version in response.json()
    ]


async def test_a_new_contract_has_one_version_from_its_start(client: httpx.AsyncClient) -> None:
    await client.put("/crm/contracts/C-9", json=_contract("800.00"))
    assert await _versions(client) == [("2026-01-01", None, "800.00")]


async def test_an_amendment_keeps_the_old_terms_until_its_date(client: httpx.AsyncClient) -> None:
    await _amended(client)
    assert await _versions(client) == [
        ("2026-01-01", "2026-06-01", "800.00"),
        ("2026-06-01", None, "1500.00"),
    ]
    latest = (await client.get("/crm/contracts/C-9")).json()
    assert (latest["id"], latest["plan"], _fee(latest)) == ("C-9", "Scale", "1500.00")
    listed = (await client.get("/crm/contracts")).json()
    assert [(c["id"], _fee(c)) for c in listed] == [("C-9", "1500.00")]


async def test_as_of_reads_the_terms_in_force_that_day(client: httpx.AsyncClient) -> None:
    await _amended(client)
    expected = {
        "2026-01-01": "800.00",
        "2026-05-31": "800.00",
        "2026-06-01": "1500.00",
        "2027-03-15": "1500.00",
    }
    for day, fee in expected.items():
        response = await _as_of(client, day)
        assert response.status_code == 200, response.text
        assert (response.json()["id"], _fee(response.json())) == ("C-9", fee), day
    before = (await _as_of(client, "2026-05-31")).json()
    assert before == _contract("800.00") | {
        "id": "C-9",
        "product_line": "default",
        "entity": "",
        "owner": "",
        "billing_interval": "monthly",
        "end_date": None,
        "price_override": False,
        "payment_terms_days": 30,
        "buyer_reference": "",
        "purchase_order": "",
        "discounts": [],
        "minimum_commitment": None,
        "non_standard_clauses": [],
        "alignment": "calendar",
        "bill_cycle_day": None,
        "time_zone": None,
        "term_months": None,
        "charges": [
            _contract("800.00")["charges"][0]
            | {
                "charge_model": "standard",
                "metric": None,
                "currency": None,
                "milestone_id": None,
                "recognition": None,
            }
        ],
    }


async def test_as_of_before_the_first_terms_is_404(client: httpx.AsyncClient) -> None:
    await _amended(client)
    response = await _as_of(client, "2025-12-31")
    assert response.status_code == 404
    assert response.json() == {
        "detail": "contract C-9 had no terms in force on 2025-12-31: "
        "its first terms took effect on 2026-01-01"
    }


async def test_an_unknown_contract_is_404_as_of_any_day_and_for_versions(
    client: httpx.AsyncClient,
) -> None:
    for path, params in (
        ("/crm/contracts/C-404", {"as_of": "2026-10-16"}),
        ("/crm/contracts/C-404/versions", {}),
    ):
        response = await client.get(path, params=params)
        assert response.status_code == 404
        assert response.json() == {"detail": "contract C-404 not found"}


async def test_an_as_of_that_is_not_a_date_is_422(client: httpx.AsyncClient) -> None:
    await _amended(client)
    response = await _as_of(client, "mid-June")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "as_of"]


async def test_an_effective_from_not_after_the_current_terms_is_422(
    client: httpx.AsyncClient,
) -> None:
    await _amended(client)
    for day in ("2026-06-01", "2026-03-01"):
        response = await client.put(
            "/crm/contracts/C-9", json=_contract("2000.00", effective_from=day)
        )
        assert response.status_code == 422, day
        [error] = response.json()["detail"]
        assert error["loc"] == ["body", "effective_from"]
        assert error["msg"] == f"{day} is not after 2026-06-01, when the current terms took effect"
    # Refused means untouched: neither the current terms nor the history changed.
    assert _fee((await client.get("/crm/contracts/C-9")).json()) == "1500.00"
    assert [fee for _, _, fee in await _versions(client)] == ["800.00", "1500.00"]


async def test_a_correction_rewrites_only_the_current_terms(client: httpx.AsyncClient) -> None:
    await _amended(client)
    corrected = _contract("1450.00", plan="Scale")
    response = await client.put("/crm/contracts/C-9", json=corrected)
    assert response.status_code == 200
    assert await _versions(client) == [
        ("2026-01-01", "2026-06-01", "800.00"),
        ("2026-06-01", None, "1450.00"),
    ]
    assert _fee((await _as_of(client, "2026-06-01")).json()) == "1450.00"
    assert _fee((await _as_of(client, "2026-05-31")).json()) == "800.00"


async def test_a_repeated_amendment_changes_nothing(client: httpx.AsyncClient) -> None:
    await _amended(client)
    # The same terms again: a retry after a lost response, or the seed loaded twice.
    for fee, day in (("1500.00", "2026-06-01"), ("800.00", "2026-01-01")):
        plan = "Scale" if day == "2026-06-01" else "Growth"
        again = _contract(fee, plan=plan, effective_from=day)
        response = await client.put("/crm/contracts/C-9", json=again)
        assert response.status_code == 200, response.text
        assert _fee(response.json()) == "1500.00"
    assert await _versions(client) == [
        ("2026-01-01", "2026-06-01", "800.00"),
        ("2026-06-01", None, "1500.00"),
    ]


async def test_a_new_contract_with_effective_from_starts_its_terms_then(
    client: httpx.AsyncClient,
) -> None:
    body = _contract("800.00", effective_from="2026-02-01")
    assert (await client.put("/crm/contracts/C-9", json=body)).status_code == 201
    assert await _versions(client) == [("2026-02-01", None, "800.00")]
    assert (await _as_of(client, "2026-01-15")).status_code == 404


async def test_concurrent_amendments_keep_the_latest_terms_current(
    client: httpx.AsyncClient,
) -> None:
    await client.put("/crm/contracts/C-9", json=_contract("800.00"))
    amendments = [
        _contract(f"{900 + month}.00", effective_from=f"2026-{month:02d}-01")
        for month in range(2, 8)
    ]
    responses = await asyncio.gather(
        *(client.put("/crm/contracts/C-9", json=body) for body in amendments)
    )
    assert {response.status_code for response in responses} <= {200, 422}
    accepted = [
        body["effective_from"]
        for body, response in zip(amendments, responses, strict=True)
        if response.status_code == 200
    ]
    versions = await _versions(client)
    assert [day for day, _, _ in versions] == ["2026-01-01", *sorted(accepted)]
    # Each refused amendment lost to a later one that was stored first.
    refused = {body["effective_from"] for body in amendments} - set(accepted)
    assert all(day < max(accepted) for day in refused)
    latest = (await client.get("/crm/contracts/C-9")).json()
    assert _fee(latest) == versions[-1][2]


async def test_contracts_stored_before_versions_get_their_terms_as_first_version(
    target: Target,
) -> None:
    async with serve(target.settings()) as http:
        await http.put("/crm/contracts/C-9", json=_contract("800.00"))
    engine = make_engine(url=target.url, schema=target.schema)
    try:
        with engine.begin() as connection:
            connection.execute(sa.delete(ContractVersion))
    finally:
        engine.dispose()
    async with serve(target.settings()) as http:
        assert await _versions(http) == [("2026-01-01", None, "800.00")]
