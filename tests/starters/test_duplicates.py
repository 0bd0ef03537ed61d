"""Duplicate deliveries against the real dev server: the same event starts nothing new; the
same business key with a different payload is refused, naming both events."""

import asyncio
import json
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from cli import build_app
from schemas.events import BillingCycleClosed
from starters.intake import EventConflict, start_run

pytestmark = [pytest.mark.e2e]
QUEUE = "q2c-starters-no-worker"  # nothing polls: the runs wait, which is all these tests need


def _event(*, event_id: str = "evt-1", contract: str = "", day: int = 1) -> BillingCycleClosed:
    return BillingCycleClosed(
        type="billing_cycle.closed",
        event_id=event_id,
        schema_version=1,
        occurred_at=datetime(2026, 7, day, tzinfo=UTC),
        contract_id=contract or f"C-{uuid.uuid4().hex[:8]}",
        period_start=date(2026, 6, 1),
        period_end=date(2026, 7, 1),
    )


async def _run_id(client: Client, workflow_id: str) -> str:
    return (await client.get_workflow_handle(workflow_id).describe()).run_id


async def test_the_same_event_delivered_again_starts_nothing_new(
    dev_server_env: WorkflowEnvironment,
) -> None:
    client = dev_server_env.client
    event = _event()
    first = await start_run(client, event, task_queue=QUEUE)
    run_id = await _run_id(client, first.workflow_id)
    again = [await start_run(client, event, task_queue=QUEUE) for _ in range(3)]
    assert first.started and not any(o.started for o in again)
    assert all("already received" in o.message and "nothing new" in o.message for o in again)
    assert await _run_id(client, first.workflow_id) == run_id


async def test_concurrent_deliveries_start_exactly_one_run(
    dev_server_env: WorkflowEnvironment,
) -> None:
    client = dev_server_env.client
    event = _event()
    outcomes = await asyncio.gather(*(start_run(client, event, task_queue=QUEUE) for _ in range(8)))
    assert sum(o.started for o in outcomes) == 1
    assert {o.workflow_id for o in outcomes} == {outcomes[0].workflow_id}


@pytest.mark.parametrize(
    "change",
    [{"event_id": "evt-other"}, {"day": 2}],
    ids=["another event id", "same id, changed payload"],
)
async def test_the_same_business_key_with_another_payload_is_refused_naming_both(
    dev_server_env: WorkflowEnvironment, change: dict[str, str | int]
) -> None:
    client = dev_server_env.client
    original = _event(event_id="evt-original")
    first = await start_run(client, original, task_queue=QUEUE)
    run_id = await _run_id(client, first.workflow_id)
    changed = _event(
        event_id=str(change.get("event_id", "evt-original")),
        contract=original.contract_id,
        day=int(change.get("day", 1)),
    )
    with pytest.raises(EventConflict) as conflict:
        await start_run(client, changed, task_queue=QUEUE)
    assert conflict.value.existing_event == "evt-original"
    assert conflict.value.new_event == changed.event_id
    assert conflict.value.workflow_id == first.workflow_id
    assert "evt-original" in str(conflict.value) and changed.event_id in str(conflict.value)
    assert await _run_id(client, first.workflow_id) == run_id


async def test_a_redelivery_after_the_run_closed_starts_nothing(
    dev_server_env: WorkflowEnvironment,
) -> None:
    client = dev_server_env.client
    event = _event()
    first = await start_run(client, event, task_queue=QUEUE)
    await client.get_workflow_handle(first.workflow_id).terminate(reason="closed for the test")
    again = await start_run(client, event, task_queue=QUEUE)
    assert not again.started
    with pytest.raises(EventConflict):
        await start_run(
            client, _event(event_id="evt-late", contract=event.contract_id), task_queue=QUEUE
        )


async def test_the_cli_exits_3_on_a_conflict_and_0_on_a_redelivery(
    dev_server_env: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", dev_server_env.client.service_client.config.target_host)
    monkeypatch.setenv("Q2C_TASK_QUEUE", QUEUE)
    event = _event(event_id="evt-cli")
    first, changed = tmp_path / "first.json", tmp_path / "changed.json"
    first.write_text(event.model_dump_json())
    payload = json.loads(event.model_dump_json()) | {"event_id": "evt-cli-2"}
    changed.write_text(json.dumps(payload))
    app = build_app()
    runs = [
        await asyncio.to_thread(CliRunner().invoke, app, ["start", str(p)])
        for p in (first, first, changed)
    ]
    assert [r.exit_code for r in runs] == [0, 0, 3], [r.output for r in runs]
    assert "started" in runs[0].output and "already received" in runs[1].output
    assert "evt-cli" in runs[2].output and "evt-cli-2" in runs[2].output
