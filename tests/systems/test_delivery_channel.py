"""The CRM keeps each customer's delivery channel: e-mail by default, or Peppol with an id."""

from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from systems.db import create_tables, make_engine
from tests.systems.conftest import Target

CUSTOMER: dict[str, Any] = {
    "name": "Tulip Logistics B.V.",
    "email": "facturen@tulip.example",
    "tax_id": "NL004495445B01",
    "address": {"country": "NL"},
    "currency": "EUR",
}


async def test_a_customer_without_a_channel_gets_email(client: httpx.AsyncClient) -> None:
    await client.put("/crm/customers/CU-7", json=CUSTOMER)
    body = (await client.get("/crm/customers/CU-7")).json()
    assert (body["delivery_channel"], body["peppol_id"]) == ("email", "")


async def test_a_peppol_customer_keeps_its_participant_id(client: httpx.AsyncClient) -> None:
    peppol = CUSTOMER | {"delivery_channel": "peppol", "peppol_id": "9944:NL004495445B01"}
    assert (await client.put("/crm/customers/CU-7", json=peppol)).status_code == 201
    body = (await client.get("/crm/customers/CU-7")).json()
    assert (body["delivery_channel"], body["peppol_id"]) == ("peppol", "9944:NL004495445B01")


async def test_an_unknown_channel_is_refused_naming_the_field(client: httpx.AsyncClient) -> None:
    response = await client.put("/crm/customers/CU-7", json=CUSTOMER | {"delivery_channel": "fax"})
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body", "delivery_channel"]
    assert (await client.get("/crm/customers/CU-7")).status_code == 404


async def test_the_seeded_peppol_customer(seeded: httpx.AsyncClient) -> None:
    customers = (await seeded.get("/crm/customers")).json()
    channels = {c["id"]: (c["delivery_channel"], c["peppol_id"]) for c in customers}
    # 9944 is the EAS code of a Dutch VAT number; Tulip's VAT number is NL004495445B01.
    assert channels.pop("CU-1014") == ("peppol", "9944:NL004495445B01")
    assert set(channels.values()) == {("email", "")}


def test_a_customer_table_from_before_the_channel_gets_its_columns(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url=url)
    with engine.begin() as connection:
        # The customer table as the first release created it.
        connection.execute(
            sa.text(
                "CREATE TABLE customer (id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, "
                "email VARCHAR NOT NULL, customer_type VARCHAR NOT NULL, tax_id VARCHAR NOT NULL, "
                "currency VARCHAR NOT NULL, exemption_certificate VARCHAR NOT NULL, address JSON)"
            )
        )
        connection.execute(
            sa.text("INSERT INTO customer VALUES ('CU-1', 'Old', 'a@b.example', 'business', '', "
                    "'EUR', '', NULL)")
        )  # fmt: skip
    create_tables(engine=engine)
    with engine.connect() as connection:
        row = connection.execute(
            sa.text("SELECT delivery_channel, peppol_id FROM customer WHERE id = 'CU-1'")
        ).one()
    engine.dispose()
    assert tuple(row) == ("email", "")


def test_the_columns_are_added_in_a_postgresql_schema_too(target: Target) -> None:
    engine = make_engine(url=target.url, schema=target.schema)
    create_tables(engine=engine, schema=target.schema)
    prefix = f'"{target.schema}".' if target.schema else ""
    with engine.begin() as connection:
        connection.execute(sa.text(f"ALTER TABLE {prefix}customer DROP COLUMN peppol_id"))
    create_tables(engine=engine, schema=target.schema)
    columns = {c["name"] for c in sa.inspect(engine).get_columns("customer", schema=target.schema)}
    engine.dispose()
    assert {"delivery_channel", "peppol_id"} <= columns
