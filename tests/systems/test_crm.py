"""CRM: customers and contracts, upserted and read back in the shapes q2c reads."""

import asyncio
from typing import Any

import httpx

CUSTOMER: dict[str, Any] = {
    "name": "Initech SARL",
    "email": "factures@initech.example",
    "customer_type": "business",
    "tax_id": "FR40303265045",
    "address": {
        "line1": "12 Rue de la Paix",
        "city": "Paris",
        "postal_code": "75002",
        "country": "FR",
        "subdivision": "FR-IDF",
    },
    "currency": "EUR",
}

# CUSTOMER as the CRM answers it: the defaults it fills in, and no hold.
CUSTOMER_ANSWER: dict[str, Any] = CUSTOMER | {
    "id": "CU-9",
    "exemption_certificate": "",
    "payment_method": "bank_transfer",
    "dunning_excluded": False,
    "blocked": False,
    "blocks": [],
    "delivery_channel": "email",
    "peppol_id": "",
}

CONTRACT: dict[str, Any] = {
    "customer_id": "CU-9",
    "currency": "EUR",
    "plan": "Commerce",
    "start_date": "2026-01-01",
    "charges": [
        {
            "id": "fee",
            "description": "Platform fee",
            "kind": "recurring",
            "properties": {"amount": "800.00"},
            "pay_in_advance": True,
        },
        {
            "id": "payments",
            "description": "Payments",
            "kind": "usage",
            "charge_model": "percentage",
            "properties": {"rate": "1.2", "fixed_amount": "0.10", "free_units_per_events": 3},
            "metric": "payments",
        },
    ],
    "discounts": [{"id": "d1", "description": "Launch", "kind": "percentage", "value": "10"}],
    "minimum_commitment": "1000.00",
    "non_standard_clauses": ["Custom SLA credits (clause 14.2)"],
}


async def test_a_new_customer_is_created_then_read_back(client: httpx.AsyncClient) -> None:
    created = await client.put("/crm/customers/CU-9", json=CUSTOMER)
    assert created.status_code == 201
    fetched = await client.get("/crm/customers/CU-9")
    assert fetched.status_code == 200
    assert fetched.json() == CUSTOMER_ANSWER


async def test_putting_a_customer_again_updates_it(client: httpx.AsyncClient) -> None:
    await client.put("/crm/customers/CU-9", json=CUSTOMER)
    updated = await client.put(
        "/crm/customers/CU-9", json=CUSTOMER | {"id": "CU-9", "email": "ap@initech.example"}
    )
    assert updated.status_code == 200
    assert (await client.get("/crm/customers/CU-9")).json()["email"] == "ap@initech.example"
    assert [c["id"] for c in (await client.get("/crm/customers")).json()] == ["CU-9"]


async def test_broken_master_data_is_stored_as_typed(client: httpx.AsyncClient) -> None:
    broken = CUSTOMER | {"email": "billing@@broken", "tax_id": "DE123456789", "address": None}
    assert (await client.put("/crm/customers/CU-9", json=broken)).status_code == 201
    body = (await client.get("/crm/customers/CU-9")).json()
    assert (body["email"], body["tax_id"], body["address"]) == (
        "billing@@broken",
        "DE123456789",
        None,
    )


async def test_an_unknown_customer_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/crm/customers/CU-404")
    assert response.status_code == 404
    assert response.json() == {"detail": "customer CU-404 not found"}


async def test_a_body_id_that_differs_from_the_path_is_422(client: httpx.AsyncClient) -> None:
    response = await client.put("/crm/customers/CU-9", json=CUSTOMER | {"id": "CU-8"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "id"]


async def test_an_unknown_customer_type_is_422_with_its_path(client: httpx.AsyncClient) -> None:
    response = await client.put("/crm/customers/CU-9", json=CUSTOMER | {"customer_type": "alien"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "customer_type"]


async def test_a_customer_without_a_country_is_422(client: httpx.AsyncClient) -> None:
    response = await client.put(
        "/crm/customers/CU-9", json=CUSTOMER | {"address": {"city": "Paris"}}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "address", "country"]


async def test_a_contract_round_trips_with_decimals_as_strings(client: httpx.AsyncClient) -> None:
    created = await client.put("/crm/contracts/C-9", json=CONTRACT)
    assert created.status_code == 201
    body = (await client.get("/crm/contracts/C-9")).json()
    assert body["id"] == "C-9"
    assert body["minimum_commitment"] == "1000.00"
    assert body["discounts"][0]["value"] == "10"
    assert body["charges"][1]["properties"] == CONTRACT["charges"][1]["properties"]
    assert body["charges"][0]["charge_model"] == "standard"
    assert body["non_standard_clauses"] == ["Custom SLA credits (clause 14.2)"]
    assert (body["billing_interval"], body["end_date"], body["price_override"]) == (
        "monthly",
        None,
        False,
    )


async def test_a_charge_keeps_its_recognition_method(client: httpx.AsyncClient) -> None:
    # docs/revenue.md: a charge may override the method its kind defaults to.
    fee = CONTRACT["charges"][0] | {"recognition": "ratable_daily"}
    await client.put("/crm/contracts/C-9", json=CONTRACT | {"charges": [fee]})
    [charge] = (await client.get("/crm/contracts/C-9")).json()["charges"]
    assert charge["recognition"] == "ratable_daily"


async def test_contracts_are_listed_and_filtered_by_customer(client: httpx.AsyncClient) -> None:
    await client.put("/crm/contracts/C-9", json=CONTRACT)
    await client.put("/crm/contracts/C-8", json=CONTRACT | {"customer_id": "CU-8"})
    everything = (await client.get("/crm/contracts")).json()
    assert [c["id"] for c in everything] == ["C-8", "C-9"]
    mine = (await client.get("/crm/contracts", params={"customer_id": "CU-9"})).json()
    assert [c["id"] for c in mine] == ["C-9"]


async def test_a_contract_is_replaced_by_a_second_put(client: httpx.AsyncClient) -> None:
    await client.put("/crm/contracts/C-9", json=CONTRACT)
    replaced = await client.put("/crm/contracts/C-9", json=CONTRACT | {"charges": []})
    assert replaced.status_code == 200
    assert (await client.get("/crm/contracts/C-9")).json()["charges"] == []


async def test_an_unknown_contract_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/crm/contracts/C-404")
    assert response.status_code == 404
    assert response.json() == {"detail": "contract C-404 not found"}


async def test_contract_input_errors_name_their_field(client: httpx.AsyncClient) -> None:
    cases = {
        ("body", "currency"): CONTRACT | {"currency": "euro"},
        ("body", "start_date"): CONTRACT | {"start_date": "first of January"},
        ("body", "charges", 0, "kind"): CONTRACT
        | {"charges": [{"id": "x", "description": "x", "kind": "weekly"}]},
        ("body", "discounts", 0, "value"): CONTRACT
        | {"discounts": [{"id": "d", "description": "d", "kind": "percentage", "value": 10.5}]},
        ("body", "minimum_commitment"): CONTRACT | {"minimum_commitment": 99.9},
        ("body", "charges"): CONTRACT | {"charges": [CONTRACT["charges"][0]] * 2},
        ("body", "charges", 0, "recognition"): CONTRACT
        | {"charges": [CONTRACT["charges"][0] | {"recognition": "when_paid"}]},
    }
    for loc, body in cases.items():
        response = await client.put("/crm/contracts/C-9", json=body)
        assert response.status_code == 422, loc
        assert [tuple(error["loc"]) for error in response.json()["detail"]] == [loc]


async def test_concurrent_puts_of_a_new_customer_create_it_once(client: httpx.AsyncClient) -> None:
    bodies = [CUSTOMER | {"name": f"Initech {n}"} for n in range(6)]
    responses = await asyncio.gather(*(client.put("/crm/customers/CU-9", json=b) for b in bodies))
    assert sorted(r.status_code for r in responses) == [200] * 5 + [201]
    assert len((await client.get("/crm/customers")).json()) == 1


async def test_contracts_are_paged_in_id_order_after_a_cursor(client: httpx.AsyncClient) -> None:
    for contract_id in ("C-P3", "C-P1", "C-P2", "C-P4"):
        await client.put(f"/crm/contracts/{contract_id}", json=CONTRACT)
    first = (await client.get("/crm/contracts", params={"limit": 2})).json()
    assert [c["id"] for c in first] == ["C-P1", "C-P2"]
    rest = (await client.get("/crm/contracts", params={"after": "C-P2", "limit": 2})).json()
    assert [c["id"] for c in rest] == ["C-P3", "C-P4"]
    assert (await client.get("/crm/contracts", params={"after": "C-P4"})).json() == []
    too_many = await client.get("/crm/contracts", params={"limit": 1001})
    assert too_many.status_code == 422


async def test_a_calendar_is_stored_as_entered_even_when_it_cannot_be_computed(
    client: httpx.AsyncClient,
) -> None:
    # The CRM is another company's system: it keeps a bill-cycle day 0 or an unknown zone,
    # and q2c's calendar reports them (billing.calendar_due).
    odd = CONTRACT | {"alignment": "anniversary", "bill_cycle_day": 0, "time_zone": "Mars/Base"}
    assert (await client.put("/crm/contracts/C-ODD", json=odd)).status_code == 201
    body = (await client.get("/crm/contracts/C-ODD")).json()
    assert (body["alignment"], body["bill_cycle_day"], body["time_zone"]) == (
        "anniversary",
        0,
        "Mars/Base",
    )


async def test_terms_are_kept_and_a_term_of_no_months_is_refused_naming_the_field(
    client: httpx.AsyncClient,
) -> None:
    yearly = CONTRACT | {"term_months": 12}
    assert (await client.put("/crm/contracts/C-TERM", json=yearly)).status_code == 201
    assert (await client.get("/crm/contracts/C-TERM")).json()["term_months"] == 12
    refused = await client.put("/crm/contracts/C-TERM0", json=CONTRACT | {"term_months": 0})
    assert refused.status_code == 422
    assert "term_months" in refused.text
