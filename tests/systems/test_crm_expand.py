"""A contract with its customer in one answer: `expand[]=customer`, as Stripe expands a
referenced object in place."""

import httpx

from tests.systems.test_crm import CONTRACT, CUSTOMER, CUSTOMER_ANSWER

EXPAND = {"expand[]": "customer"}


async def _store(client: httpx.AsyncClient, *, customer: bool = True) -> None:
    if customer:
        assert (await client.put("/crm/customers/CU-9", json=CUSTOMER)).status_code == 201
    assert (await client.put("/crm/contracts/C-9", json=CONTRACT)).status_code == 201


async def test_the_customer_comes_in_place_beside_the_contract(client: httpx.AsyncClient) -> None:
    await _store(client)
    plain = await client.get("/crm/contracts/C-9")
    expanded = await client.get("/crm/contracts/C-9", params=EXPAND)
    assert expanded.status_code == 200, expanded.text
    assert "customer" not in plain.json()
    assert expanded.json() == plain.json() | {"customer": CUSTOMER_ANSWER}


async def test_a_held_customer_comes_with_its_holds(client: httpx.AsyncClient) -> None:
    await _store(client)
    held = await client.put("/crm/customers/CU-9/blocks/run-1", json={"reason": "overdue"})
    assert held.status_code == 201
    customer = (await client.get("/crm/contracts/C-9", params=EXPAND)).json()["customer"]
    assert (customer["blocked"], [b["holder"] for b in customer["blocks"]]) == (True, ["run-1"])


async def test_terms_of_a_day_come_with_the_customer(client: httpx.AsyncClient) -> None:
    await _store(client)
    amended = CONTRACT | {"plan": "Scale", "effective_from": "2026-07-01"}
    assert (await client.put("/crm/contracts/C-9", json=amended)).status_code == 200
    before = await client.get("/crm/contracts/C-9", params=EXPAND | {"as_of": "2026-06-30"})
    assert before.status_code == 200, before.text
    assert (before.json()["plan"], before.json()["customer"]) == ("Commerce", CUSTOMER_ANSWER)


async def test_a_contract_whose_customer_is_missing_has_a_null_customer(
    client: httpx.AsyncClient,
) -> None:
    await _store(client, customer=False)
    expanded = await client.get("/crm/contracts/C-9", params=EXPAND)
    assert expanded.status_code == 200, expanded.text
    assert (expanded.json()["customer_id"], expanded.json()["customer"]) == ("CU-9", None)


async def test_an_unknown_contract_is_404_expanded_or_not(client: httpx.AsyncClient) -> None:
    response = await client.get("/crm/contracts/C-404", params=EXPAND)
    assert response.status_code == 404
    assert response.json() == {"detail": "contract C-404 not found"}


async def test_an_unknown_expansion_is_422_naming_the_parameter(
    client: httpx.AsyncClient,
) -> None:
    await _store(client)
    response = await client.get("/crm/contracts/C-9", params={"expand[]": "owner"})
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["query", "expand[]", 0]
    assert "customer" in problem["msg"], problem
