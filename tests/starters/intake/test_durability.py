"""Nothing lost: what the intake answered 202 for is durable, even if it is killed at once; and
while Temporal is down it answers 503 and keeps nothing half-done."""

import asyncio
import json
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from tests.conftest import BIN, SystemsService
from tests.starters.intake.conftest import IntakeProcess, post, sign
from workers.client import data_converter
from workflows.search_attributes import ALL as SEARCH_ATTRIBUTES

pytestmark = [pytest.mark.e2e]


def _cycle(year: int, month: int) -> dict[str, Any]:
    end = f"{year + month // 12}-{month % 12 + 1:02d}-01"
    return {
        "type": "billing_cycle.closed",
        "event_id": f"evt-kill-{year}-{month}",
        "schema_version": 1,
        "occurred_at": f"{end}T00:05:00Z",
        "contract_id": "C-1002",
        "period_start": f"{year}-{month:02d}-01",
        "period_end": end,
    }


def _workflow_id(event: dict[str, Any]) -> str:
    return f"q2c:C-1002:cycle:{event['period_start']}:{event['period_end']}"


async def _exists(client: Client, workflow_id: str) -> bool:
    try:
        await client.get_workflow_handle(workflow_id).describe()
    except RPCError:
        return False
    return True


async def test_an_intake_killed_mid_batch_loses_no_accepted_event(
    dev_server_env: WorkflowEnvironment, systems: SystemsService, tmp_path: Path
) -> None:
    address = dev_server_env.client.service_client.config.target_host
    intake = IntakeProcess(tmp_path / "intake", address, systems).start()
    batches = [[_cycle(5000 + b, m) for m in range(1, 6)] for b in range(24)]
    accepted: list[list[dict[str, Any]]] = []
    answered = asyncio.Event()

    async def deliver(http: httpx.AsyncClient, batch: list[dict[str, Any]]) -> None:
        raw, headers = sign({"events": batch})
        try:
            response = await http.post("/v1/events", content=raw, headers=headers)
        except httpx.HTTPError:
            return  # no answer: the sender would retry; not accepted
        if response.status_code == 202:
            accepted.append(batch)
            if len(accepted) >= 3:
                answered.set()

    async with httpx.AsyncClient(base_url=intake.url, timeout=30) as http:
        sending = [asyncio.create_task(deliver(http, batch)) for batch in batches]
        await asyncio.wait_for(answered.wait(), 60)
        intake.stop(signal.SIGKILL)  # in the middle of the rest: no drain, no flush
        await asyncio.gather(*sending)
    assert 3 <= len(accepted) < len(batches), "the kill should land mid-load"
    client = dev_server_env.client
    for batch in accepted:
        for event in batch:
            assert await _exists(client, _workflow_id(event)), event["event_id"]

    # The sender retries what was not accepted: each event then has exactly its one run.
    intake.start()
    try:
        for batch in batches:
            if batch not in accepted:
                assert post(intake, {"events": batch}).status_code == 202
    finally:
        intake.stop()
    for batch in batches:
        for event in batch:
            assert await _exists(client, _workflow_id(event))


async def test_while_temporal_is_down_the_intake_answers_503_and_keeps_nothing(
    systems: SystemsService, tmp_path: Path
) -> None:
    env = await WorkflowEnvironment.start_local(
        data_converter=data_converter(),
        dev_server_existing_path=str(BIN / "temporal"),
        search_attributes=SEARCH_ATTRIBUTES,
        ui=False,
    )
    address = env.client.service_client.config.target_host
    intake = IntakeProcess(
        tmp_path / "intake",
        address,
        systems,
        extra_env={
            "Q2C_INTAKE_TEMPORAL_TIMEOUT_SECONDS": "2",
            "Q2C_INTAKE_RETRY_AFTER_SECONDS": "7",
        },
    ).start()
    try:
        assert post(intake, _cycle(6000, 1)).status_code == 202
        await env.shutdown()
        event = _cycle(6000, 2)
        response = await asyncio.to_thread(post, intake, event, webhook_id="msg_while_down")
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "7"
        body = response.json()
        assert body["type"] == "/problems/unavailable"
        listed = intake.cli("intake", "dead-letters", "--json")
        assert json.loads(listed.stdout) == []
        store = intake.store()
        assert store.delivery("crm:msg_while_down") is None  # the retry is processed afresh
        store.dispose()
    finally:
        intake.stop()
