"""Ids in URL paths against the real systems service: each id is one percent-encoded segment,
so an id holding `..`, `/` or `?` names itself (and is not found), never another resource."""

from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.crm import CrmActivities
from activities.erp import ErpActivities
from activities.paths import segment
from schemas.errors import ReasonCode
from schemas.steps import FetchContractInput, ValidateCustomerInput
from tests.conftest import SystemsService
from tests.systems.test_erp import _request


@pytest.fixture
async def http(systems: SystemsService) -> AsyncIterator[httpx.AsyncClient]:
    # The session's systems: C-1001 is the seed's, read here only; the one posting has a
    # key of its own.
    async with systems.client() as client:
        yield client


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("C-1001", "C-1001"),
        (".", "%2E"),
        ("..", "%2E%2E"),
        ("a/../b", "a%2F..%2Fb"),
        ("q2c:C-1:cycle", "q2c%3AC-1%3Acycle"),
        ("x?y#z", "x%3Fy%23z"),
        ("Société", "Soci%C3%A9t%C3%A9"),
    ],
)
def test_a_value_becomes_one_encoded_segment(value: str, encoded: str) -> None:
    # Expected values written from RFC 3986 §2.1/§2.3 (unreserved: ALPHA DIGIT - . _ ~).
    assert segment(value) == encoded


@pytest.mark.parametrize(
    "contract_id", ["C-1002/../C-1001", "..", ".", "C-1001?as_of=x", "C-1001/"]
)
async def test_a_contract_id_that_looks_like_a_path_is_not_found(
    http: httpx.AsyncClient, contract_id: str
) -> None:
    crm = CrmActivities(client=http)
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(
            crm.validate_customer, ValidateCustomerInput(contract_id=contract_id)
        )
    assert raised.value.type == ReasonCode.CONTRACT_NOT_FOUND, raised.value.message
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(
            crm.fetch_contract,
            FetchContractInput(contract_id=contract_id, as_of=date(2026, 10, 15)),
        )
    assert raised.value.type == ReasonCode.CONTRACT_NOT_FOUND, raised.value.message


async def test_the_real_contract_is_still_found(http: httpx.AsyncClient) -> None:
    crm = CrmActivities(client=http)
    found = await ActivityEnvironment().run(
        crm.validate_customer, ValidateCustomerInput(contract_id="C-1001")
    )
    assert found.contract.id == "C-1001"


async def test_a_posting_key_with_a_slash_and_colons_is_read_back_as_itself(
    http: httpx.AsyncClient,
) -> None:
    key = "q2c:C-SEGMENT:cycle:2026-10-01/2026-11-01"
    body = _request(key, contract_id="C-SEGMENT", customer_id="CU-SEGMENT")
    assert (await http.post("/erp/postings", json=body)).status_code == 201
    erp = ErpActivities(client=http)
    found = await erp._find(key)
    assert found is not None and found.posting_key == key
    assert await erp._find("q2c:C-SEGMENT:cycle:2026-10-01/../2026-11-01") is None
