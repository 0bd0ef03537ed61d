"""CRM: how a customer pays, dunning exclusion, and holds that block the account."""

import httpx
import sqlalchemy as sa

from systems.db import create_tables, make_engine
from tests.systems.conftest import Target
from tests.systems.test_crm import CUSTOMER

RUN_A = "q2c:C-9:cycle:2026-10-01:2026-11-01"
RUN_B = "q2c:C-9:cycle:2026-11-01:2026-12-01"


async def _customer(client: httpx.AsyncClient, **fields: object) -> None:
    response = await client.put("/crm/customers/CU-9", json=CUSTOMER | fields)
    assert response.status_code in (200, 201), response.text


async def test_payment_method_and_dunning_exclusion_are_master_data(
    client: httpx.AsyncClient,
) -> None:
    await _customer(client, payment_method="auto_collect", dunning_excluded=True)
    read = (await client.get("/crm/customers/CU-9")).json()
    assert (read["payment_method"], read["dunning_excluded"]) == ("auto_collect", True)
    bad = await client.put("/crm/customers/CU-9", json=CUSTOMER | {"payment_method": "cheque"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "payment_method"]


async def test_a_hold_blocks_the_account_until_released(client: httpx.AsyncClient) -> None:
    await _customer(client)
    held = await client.put(f"/crm/customers/CU-9/blocks/{RUN_A}", json={"reason": "60 days"})
    assert held.status_code == 201
    assert held.json()["blocked"] is True
    assert [(b["holder"], b["reason"]) for b in held.json()["blocks"]] == [(RUN_A, "60 days")]
    again = await client.put(f"/crm/customers/CU-9/blocks/{RUN_A}", json={"reason": "60 days"})
    assert again.status_code == 200
    assert again.json()["blocks"] == held.json()["blocks"]
    released = await client.delete(f"/crm/customers/CU-9/blocks/{RUN_A}")
    assert (released.status_code, released.json()["blocked"]) == (200, False)
    # Releasing twice is harmless: the call is idempotent.
    twice = await client.delete(f"/crm/customers/CU-9/blocks/{RUN_A}")
    assert (twice.status_code, twice.json()["blocks"]) == (200, [])


async def test_the_account_stays_blocked_while_another_hold_remains(
    client: httpx.AsyncClient,
) -> None:
    await _customer(client)
    await client.put(f"/crm/customers/CU-9/blocks/{RUN_A}", json={"reason": "a"})
    await client.put(f"/crm/customers/CU-9/blocks/{RUN_B}", json={"reason": "b"})
    released = (await client.delete(f"/crm/customers/CU-9/blocks/{RUN_A}")).json()
    assert released["blocked"] is True
    assert [b["holder"] for b in released["blocks"]] == [RUN_B]
    # Updating the customer's master data keeps its holds.
    await _customer(client, name="Initech SA")
    assert (await client.get("/crm/customers/CU-9")).json()["blocked"] is True


async def test_holds_on_an_unknown_customer_are_404(client: httpx.AsyncClient) -> None:
    assert (await client.put(f"/crm/customers/CU-0/blocks/{RUN_A}", json={})).status_code == 404
    assert (await client.delete(f"/crm/customers/CU-0/blocks/{RUN_A}")).status_code == 404


def test_a_database_from_before_gets_the_new_customer_columns(target: Target) -> None:
    engine = make_engine(url=target.url, schema=target.schema)
    table = f'"{target.schema}".customer' if target.schema else "customer"
    with engine.begin() as connection:
        if target.schema:
            connection.execute(sa.text(f'CREATE SCHEMA "{target.schema}"'))
        # The customer table as the previous version created it.
        connection.execute(
            sa.text(
                f"CREATE TABLE {table} (name VARCHAR NOT NULL, email VARCHAR NOT NULL, "
                "customer_type VARCHAR NOT NULL, tax_id VARCHAR NOT NULL, currency VARCHAR "
                "NOT NULL, exemption_certificate VARCHAR NOT NULL, id VARCHAR PRIMARY KEY, "
                "address JSON)"
            )
        )
        connection.execute(
            sa.text(
                f"INSERT INTO {table} VALUES "
                "('A', 'a@b.example', 'business', '', 'EUR', '', 'CU-OLD', NULL)"
            )
        )
    create_tables(engine=engine, schema=target.schema)
    with engine.connect() as connection:
        row = connection.execute(
            sa.text(f"SELECT payment_method, dunning_excluded FROM {table} WHERE id = 'CU-OLD'")
        ).one()
    engine.dispose()
    assert (row[0], bool(row[1])) == ("bank_transfer", False)
