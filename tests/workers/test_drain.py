"""SIGTERM mid-posting: the worker drains, the posting completes once, the run finishes."""

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from schemas.runs import RunState
from starters.intake import run_handle, start_run
from tests.conftest import SystemsService, running_systems
from tests.events import cycle_closed

pytestmark = [pytest.mark.e2e]
LATENCY_MS = 1500


@pytest.fixture(scope="module")
def slow_erp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SystemsService]:
    with running_systems(tmp_path_factory.mktemp("drain")) as service:
        yield service


def _worker(
    env: WorkflowEnvironment, systems: SystemsService, queue: str, log: Path
) -> "subprocess.Popen[bytes]":
    environ = dict(os.environ)
    environ.update(
        {
            "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
            "Q2C_SYSTEMS_URL": systems.url,
            "Q2C_SYSTEMS_TOKEN": systems.token,
            "Q2C_TASK_QUEUE": queue,
            "Q2C_GRACEFUL_SHUTDOWN_SECONDS": "30",
            "Q2C_SMTP_URL": systems.smtp_url,
            "Q2C_HOME": str(log.parent / "q2c-home"),
        }
    )
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "cli", "worker"],
            env=environ,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


async def _posting_started(client: Client, workflow_id: str) -> None:
    handle = client.get_workflow_handle(workflow_id)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pending = (await handle.describe()).raw_description.pending_activities
        if any(
            a.activity_type.name == "post_invoice"
            and a.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
            for a in pending
        ):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("post_invoice never started")


async def test_sigterm_mid_posting_drains_and_leaves_exactly_one_posting(
    dev_server_env: WorkflowEnvironment, slow_erp: SystemsService, tmp_path: Path
) -> None:
    client = dev_server_env.client
    queue = f"q2c-drain-{uuid.uuid4()}"
    event = cycle_closed("C-1003", 5)
    log = tmp_path / "worker.log"
    async with slow_erp.client() as http:
        rule = {"system": "erp", "latency_ms": LATENCY_MS}
        (await http.put("/admin/faults", json=rule)).raise_for_status()
        first = _worker(dev_server_env, slow_erp, queue, log)
        try:
            outcome = await start_run(client, event, task_queue=queue, collect=False)
            await _posting_started(client, outcome.workflow_id)
            os.killpg(first.pid, signal.SIGTERM)
            code = await asyncio.to_thread(first.wait, 30)
        finally:
            if first.poll() is None:
                os.killpg(first.pid, signal.SIGKILL)
        assert code == 0, log.read_text()[-2000:]
        assert "draining" in log.read_text()
        # The drained worker finished the post it had started: the ERP has it already.
        posted = await http.get(f"/erp/postings/{outcome.workflow_id}")
        assert posted.status_code == 200, "the drain left a half-done posting"
        (await http.delete("/admin/faults")).raise_for_status()

        second = _worker(dev_server_env, slow_erp, queue, log)
        try:
            result = await asyncio.wait_for(run_handle(client, outcome.workflow_id).result(), 90)
        finally:
            os.killpg(second.pid, signal.SIGTERM)
            await asyncio.to_thread(second.wait, 30)
        assert result.state is RunState.DELIVERED
        assert [d.erp_document_id for d in result.documents] == [posted.json()["erp_document_id"]]
        postings = (await http.get("/erp/postings", params={"contract_id": "C-1003"})).json()
        assert [p["posting_key"] for p in postings].count(outcome.workflow_id) == 1
