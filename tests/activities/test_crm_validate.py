"""validate_customer reads the contract and its customer in one round trip
(`expand[]=customer`), and names each failure as it did with two."""

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.crm import CrmActivities
from schemas.errors import ReasonCode
from schemas.steps import ValidateCustomerInput, ValidatedCustomer
from tests.activities import loopback
from tests.conftest import SystemsService


@asynccontextmanager
async def counted(url: str, token: str) -> AsyncIterator[tuple[httpx.AsyncClient, list[str]]]:
    """A client of `url` and the requests it made, as "METHOD path?query"."""
    seen: list[str] = []

    async def record(request: httpx.Request) -> None:
        seen.append(f"{request.method} {request.url.raw_path.decode()}")

    async with httpx.AsyncClient(
        base_url=url,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
        event_hooks={"request": [record]},
    ) as client:
        yield client, seen


async def _validate(client: httpx.AsyncClient, contract_id: str) -> ValidatedCustomer:
    crm = CrmActivities(client=client)
    return await ActivityEnvironment().run(
        crm.validate_customer, ValidateCustomerInput(contract_id=contract_id)
    )


async def test_one_request_brings_the_contract_and_its_customer(
    systems: SystemsService,
) -> None:
    async with counted(systems.url, systems.token) as (client, seen):
        validated = await _validate(client, "C-1001")
    # The seed's C-1001 belongs to CU-1001 (systems/seed_data.json).
    assert (validated.contract.id, validated.customer.id) == ("C-1001", "CU-1001")
    assert seen == ["GET /crm/contracts/C-1001?expand%5B%5D=customer"]


async def test_an_unknown_contract_is_contract_not_found(systems: SystemsService) -> None:
    async with counted(systems.url, systems.token) as (client, _):
        with pytest.raises(ApplicationError) as raised:
            await _validate(client, "C-VALIDATE-NONE")
    assert raised.value.type == ReasonCode.CONTRACT_NOT_FOUND
    assert raised.value.non_retryable


async def test_a_missing_customer_is_customer_not_found_as_before(
    systems: SystemsService,
) -> None:
    async with counted(systems.url, systems.token) as (client, seen):
        body = {
            "customer_id": "CU-VALIDATE-GONE",
            "currency": "EUR",
            "plan": "Commerce",
            "start_date": "2026-01-01",
        }
        assert (await client.put("/crm/contracts/C-VALIDATE-GONE", json=body)).is_success
        with pytest.raises(ApplicationError) as raised:
            await _validate(client, "C-VALIDATE-GONE")
    assert raised.value.type == ReasonCode.CUSTOMER_NOT_FOUND
    assert raised.value.non_retryable
    # The message a missing customer has always had: it names the customer's own path.
    assert raised.value.message == (
        "crm GET /crm/customers/CU-VALIDATE-GONE: not found: customer CU-VALIDATE-GONE not found"
    )
    assert seen[-1] == "GET /crm/customers/CU-VALIDATE-GONE"


CONTRACT: dict[str, Any] = {
    "id": "C-7",
    "customer_id": "CU-7",
    "currency": "EUR",
    "plan": "Commerce",
    "start_date": "2026-01-01",
}
CUSTOMER: dict[str, Any] = {
    "id": "CU-7",
    "name": "Initech SARL",
    "email": "factures@initech.example",
    "currency": "EUR",
    "address": {"country": "FR"},
}


@pytest.fixture
def older_crm() -> Iterator[str]:
    """A CRM that knows nothing of expansion: it answers the contract alone."""
    app = FastAPI()

    @app.get("/crm/contracts/{contract_id}")
    def contract(contract_id: str) -> dict[str, Any]:
        return CONTRACT | {"id": contract_id}

    @app.get("/crm/customers/{customer_id}")
    def customer(customer_id: str) -> dict[str, Any]:
        return CUSTOMER | {"id": customer_id}

    with loopback.serve(app) as url:
        yield url


async def test_a_crm_that_does_not_expand_is_asked_for_the_customer(older_crm: str) -> None:
    async with counted(older_crm, "t") as (client, seen):
        validated = await _validate(client, "C-7")
    assert (validated.customer.id, validated.customer.name) == ("CU-7", "Initech SARL")
    assert seen == ["GET /crm/contracts/C-7?expand%5B%5D=customer", "GET /crm/customers/CU-7"]


@pytest.fixture
def broken_customer_crm() -> Iterator[str]:
    """A CRM that expands a customer whose type and address are not what q2c reads."""
    app = FastAPI()

    @app.get("/crm/contracts/{contract_id}")
    def contract(contract_id: str) -> dict[str, Any]:
        broken = CUSTOMER | {"customer_type": "reseller", "address": {"city": "Paris"}}
        return CONTRACT | {"id": contract_id, "customer": broken}

    with loopback.serve(app) as url:
        yield url


async def test_an_expanded_customer_that_does_not_parse_names_its_fields(
    broken_customer_crm: str,
) -> None:
    async with counted(broken_customer_crm, "t") as (client, _):
        with pytest.raises(ApplicationError) as raised:
            await _validate(client, "C-7")
    assert raised.value.type == ReasonCode.CUSTOMER_INVALID
    assert raised.value.non_retryable
    problems = raised.value.message.split("; ")
    assert [p.split(":")[0] for p in problems] == [
        "customer.customer_type",
        "customer.address.country",
    ]
