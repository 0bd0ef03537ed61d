"""The VIES check against a local FastAPI stand-in of the VIES REST API on 127.0.0.1.

The stand-in exists for the tests only: the real VIES cannot be reached from here. It
answers in VIES's shape (`valid`, `name`, `address`, `requestIdentifier`, or
`errorWrappers` when a member state is unavailable) and can fail or hang on demand.
"""

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Response
from temporalio.testing import ActivityEnvironment

from activities.vies import ViesActivities, ViesCheckInput
from devstack.stack import free_port
from tests.activities.loopback import serve

REGISTERED = {("DE", "136695976"): "q2c Demo GmbH", ("EL", "094259216"): "---"}
seen: list[dict[str, Any]] = []


def _vies() -> FastAPI:
    app = FastAPI()

    @app.post("/check-vat-number")
    async def check(body: dict[str, Any], response: Response) -> dict[str, Any]:
        seen.append(body)
        key = (body["countryCode"], body["vatNumber"])
        if body["countryCode"] == "FR":
            return {
                "actionSucceed": False,
                "errorWrappers": [{"error": "MS_UNAVAILABLE", "message": "member state down"}],
            }
        if body["countryCode"] == "IT":
            response.status_code = 500
            return {"error": "boom"}
        if body["countryCode"] == "NL":
            await asyncio.sleep(1)
        return {
            "countryCode": body["countryCode"],
            "vatNumber": body["vatNumber"],
            "requestDate": "2026-10-31T10:00:00.000Z",
            "valid": key in REGISTERED,
            "requestIdentifier": "WAPIAAAAW1234567" if key in REGISTERED else "",
            "name": REGISTERED.get(key, "---"),
            "address": "Musterstr. 1\n10115 Berlin" if key in REGISTERED else "---",
        }

    return app


@pytest.fixture(scope="module")
def vies_url() -> Iterator[str]:
    with serve(_vies()) as url:
        yield url


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=0.5) as http:
        yield http


async def _check(activities: ViesActivities, number: str) -> Any:
    return await ActivityEnvironment().run(activities.check_vat, ViesCheckInput(vat_number=number))


async def test_a_registered_number_is_valid_with_the_proof(
    client: httpx.AsyncClient, vies_url: str
) -> None:
    result = await _check(ViesActivities(client=client, base_url=vies_url), "DE 136 695 976")
    assert result.status == "valid"
    assert (result.vat_number, result.name) == ("DE136695976", "q2c Demo GmbH")
    assert result.request_identifier == "WAPIAAAAW1234567"
    assert result.problems == []
    assert seen[-1] == {"countryCode": "DE", "vatNumber": "136695976"}


async def test_greece_is_asked_as_el_and_undisclosed_fields_stay_empty(
    client: httpx.AsyncClient, vies_url: str
) -> None:
    result = await _check(ViesActivities(client=client, base_url=vies_url), "EL094259216")
    assert result.status == "valid"
    assert result.name == ""


async def test_an_unregistered_number_is_invalid_and_blocks(
    client: httpx.AsyncClient, vies_url: str
) -> None:
    result = await _check(ViesActivities(client=client, base_url=vies_url), "ATU13585627")
    assert result.status == "invalid"
    assert [(p.code, p.blocking) for p in result.problems] == [("vat_number_not_registered", True)]


async def test_a_number_failing_its_checksum_is_invalid_without_asking(
    client: httpx.AsyncClient, vies_url: str
) -> None:
    before = len(seen)
    result = await _check(ViesActivities(client=client, base_url=vies_url), "DE123456789")
    assert result.status == "invalid"
    assert "checksum" in result.detail
    assert len(seen) == before


async def test_a_non_eu_number_is_not_applicable(client: httpx.AsyncClient, vies_url: str) -> None:
    result = await _check(ViesActivities(client=client, base_url=vies_url), "GB980780684")
    assert (result.status, result.problems) == ("not_applicable", [])


@pytest.mark.parametrize(
    ("number", "detail"),
    [
        ("FR40303265045", "MS_UNAVAILABLE"),
        ("IT00743110157", "HTTP 500"),
        ("NL004495445B01", "unreachable"),
    ],
    ids=["member state down", "server error", "timeout"],
)
async def test_vies_trouble_leaves_the_number_unverified(
    client: httpx.AsyncClient, vies_url: str, number: str, detail: str
) -> None:
    result = await _check(ViesActivities(client=client, base_url=vies_url), number)
    assert result.status == "unverified"
    assert detail in result.detail
    assert [(p.code, p.blocking) for p in result.problems] == [("vat_number_unverified", False)]


async def test_an_unreachable_vies_is_unverified_and_the_policy_may_block(
    client: httpx.AsyncClient,
) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    strict = ViesActivities(client=client, base_url=nobody, block_unverified=True)
    result = await _check(strict, "DE136695976")
    assert result.status == "unverified"
    assert "unreachable" in result.detail
    assert [(p.code, p.blocking) for p in result.problems] == [("vat_number_unverified", True)]
