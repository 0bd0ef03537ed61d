"""With Q2C_VIES_ENABLED, a run checks the customer's VAT number online before billing.

VIES itself is not reachable from the test machines: a loopback stand-in speaks its REST
shape (the check itself is tested in tests/activities/test_vies.py).
"""

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from schemas.runs import RunInput, RunState, RunStatus
from tests.activities.loopback import serve
from tests.conftest import SystemsService
from tests.events import cycle_closed
from tests.own_contracts import copy_contract
from workers.settings import Settings
from workers.worker import build_worker
from workflows.quote_to_cash import QuoteToCashWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")
REGISTERED = {("DE", "136695976")}
asked: list[str] = []


def _vies() -> FastAPI:
    app = FastAPI()

    @app.post("/check-vat-number")
    async def check(body: dict[str, Any]) -> dict[str, Any]:
        asked.append(body["countryCode"] + body["vatNumber"])
        key = (body["countryCode"], body["vatNumber"])
        return {"valid": key in REGISTERED, "name": "---", "requestIdentifier": "WAPI1"}

    return app


@pytest.fixture(scope="module")
def vies_url() -> Iterator[str]:
    with serve(_vies()) as url:
        yield url


async def _run(
    env: WorkflowEnvironment, systems: SystemsService, vies_url: str, seeded: str
) -> RunStatus:
    """A run of November for a copy of `seeded` and its customer (their VAT numbers too)."""
    contract_id = (await copy_contract(systems, seeded)).contract_id
    task_queue = f"q2c-vies-{uuid.uuid4()}"
    settings = Settings(
        task_queue=task_queue,
        systems_url=systems.url,
        smtp_url=systems.smtp_url,
        vies_enabled=True,
        vies_url=vies_url,
    )
    event = cycle_closed(contract_id, 11)
    async with systems.client() as http, httpx.AsyncClient() as outside:
        async with build_worker(
            env.client,
            settings=settings,
            http=http,
            delivery_log=systems.delivery_log,
            outside=outside,
        ):
            return await env.client.execute_workflow(
                QuoteToCashWorkflow.run,
                RunInput(event=event, collect=False),
                id=f"test-vies:{uuid.uuid4()}",
                task_queue=task_queue,
            )


async def test_a_registered_vat_number_passes_and_the_run_posts(
    time_skipping_env: WorkflowEnvironment, systems: SystemsService, vies_url: str
) -> None:
    result = await _run(time_skipping_env, systems, vies_url, "C-1002")
    assert "DE136695976" in asked
    assert result.state is RunState.DELIVERED, result.reason


async def test_a_number_vies_does_not_know_stops_the_run_before_anything_is_posted(
    time_skipping_env: WorkflowEnvironment, systems: SystemsService, vies_url: str
) -> None:
    result = await _run(time_skipping_env, systems, vies_url, "C-1003")
    assert "FR40303265045" in asked
    assert result.state is RunState.NEEDS_ATTENTION
    assert result.reason_code == "customer_invalid"
    assert [p.code for p in result.problems if p.blocking] == ["vat_number_not_registered"]
    assert result.documents == []


async def test_individuals_are_not_checked(
    time_skipping_env: WorkflowEnvironment, systems: SystemsService, vies_url: str
) -> None:
    before = len(asked)
    result = await _run(time_skipping_env, systems, vies_url, "C-1011")
    assert len(asked) == before
    assert result.state is RunState.DELIVERED
