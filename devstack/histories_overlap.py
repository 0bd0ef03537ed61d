"""Record the histories of runs that may bill the same fees (tests/histories/overlap/).

Two runs of one contract each, on the time-skipping server beside an embedded stack's
systems: an activation awaiting approval while the first period closes (the close waits for
it: `activation-settled`), and a close posted before the renewal of the same period (the
renewal has nothing to bill: `renewal-once`). Both runs of each pair are kept: the one that
looked the other up and found nothing, and the one that found it.

`record_activation_reset` keeps an activation reset to its first task after it and the first
close posted (it goes on with its own invoice: `activation-own-invoice`); the time-skipping
server cannot reset a run, so it runs on the stack's own dev server and worker.

`record_fanout` keeps one fire's fan-out over the CRM with a contract it skips (the skips go
to the audit trail: `calendar-skips-recorded`); its runs go to a queue nobody polls.
"""

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from devstack.resets import reset_run
from devstack.run_waits import wait_for_state
from devstack.stack import DevStack
from devstack.timeskip import time_skipping_worker
from ops.calendar import nominal_fire
from schemas.calendar import CalendarKey, FanOutInput
from schemas.events import ContractRenewed
from schemas.runs import RunState, RunStatus
from starters.events import activated, cycle_closed
from starters.intake import run_handle, start_run
from workflows.calendar_fanout import CalendarFanOutWorkflow

APPROVE = {"approver": "cfo@q2c.example", "comment": "checked"}
TEAM_PLAN: dict[str, Any] = {
    "id": "team",
    "description": "Team plan",
    "kind": "recurring",
    "charge_model": "standard",
    "properties": {"amount": "120.00"},
    "pay_in_advance": True,
}
"""A 120.00/month fee paid in advance: the charge of the first-period and renewal runs."""


async def _contract(http: httpx.AsyncClient, contract_id: str, **terms: Any) -> None:
    seeded = (await http.get("/crm/contracts/C-1016", params={"as_of": "2026-01-01"})).json()
    body = {**seeded, "id": contract_id, "charges": [TEAM_PLAN], "effective_from": None, **terms}
    response = await http.put(f"/crm/contracts/{contract_id}", json=body)
    response.raise_for_status()


async def _write(handle: Any, path: Path) -> Path:
    history = await handle.fetch_history()
    path.parent.mkdir(parents=True, exist_ok=True)
    exported = json.loads(history.to_json())
    path.write_text(json.dumps(exported, indent=1, sort_keys=True) + "\n")
    return path


async def record_overlaps(stack: DevStack, out: Path, folder: Path) -> list[Path]:
    """`out`/overlap/*.json: the four runs, each checked to end as the tests expect."""
    tag = uuid.uuid4().hex[:4]
    activating, renewing = f"C-HIST-ACT-{tag}", f"C-HIST-REN-{tag}"
    async with stack.systems_client() as http:
        await _contract(
            http,
            activating,
            start_date="2026-03-20",
            non_standard_clauses=["Service credits of 10% per hour of downtime"],
        )
        await _contract(http, renewing, start_date="2025-12-01", term_months=12)
    async with time_skipping_worker(
        systems_url=stack.systems_url,
        systems_token=stack.token,
        smtp_url=f"smtp://127.0.0.1:{stack.ports.outbox}?starttls=off",
        folder=folder,
    ) as skipping:
        client, queue = skipping.env.client, skipping.task_queue

        async def start(event: Any) -> Any:
            outcome = await start_run(client, event, task_queue=queue, collect=False)
            return run_handle(client, outcome.workflow_id)

        activation = await start(
            activated(activating, date(2026, 3, 20), date(2026, 4, 1), event_id=f"evt-a-{tag}")
        )
        await wait_for_state(activation, RunState.AWAITING_APPROVAL)
        close = await start(
            cycle_closed(activating, (date(2026, 3, 1), date(2026, 4, 1)), event_id=f"evt-c-{tag}")
        )
        await wait_for_state(close, RunState.AWAITING_ACTIVATION)
        await activation.signal("approve", APPROVE)
        _expect(await activation.result(), RunState.DELIVERED)
        await skipping.env.sleep(timedelta(minutes=5))
        await wait_for_state(close, RunState.AWAITING_APPROVAL)
        await close.signal("approve", APPROVE)
        _expect(await close.result(), RunState.DELIVERED)

        period = (date(2026, 11, 1), date(2026, 12, 1))
        first = await start(cycle_closed(renewing, period, event_id=f"evt-r-{tag}"))
        _expect(await first.result(), RunState.DELIVERED)
        renewal = await start(
            ContractRenewed(
                type="contract.renewed",
                event_id=f"evt-n-{tag}",
                schema_version=1,
                occurred_at=datetime(2026, 12, 1, tzinfo=UTC),
                contract_id=renewing,
                period_start=period[0],
                period_end=period[1],
            )
        )
        _expect(await renewal.result(), RunState.NOTHING_TO_BILL)
        folder_out = out / "overlap"
        return [
            await _write(activation, folder_out / "activation_before_close.json"),
            await _write(close, folder_out / "close_waited_for_activation.json"),
            await _write(first, folder_out / "close_before_renewal.json"),
            await _write(renewal, folder_out / "renewal_after_close.json"),
        ]


async def record_activation_reset(
    stack: DevStack, client: Client, task_queue: str, out: Path
) -> list[Path]:
    """`out`/overlap/activation_reset_after_close.json: an activation of a contract without an
    approval clause bills its first days and posts; the first close finds that invoice and
    bills the next month; the activation, reset to its first task, finds the close posted and
    its own invoice in the ERP, and goes on with it."""
    tag = uuid.uuid4().hex[:4]
    contract = f"C-HIST-RESET-{tag}"
    async with stack.systems_client() as http:
        await _contract(http, contract, start_date="2026-03-20")

    async def start(event: Any) -> Any:
        outcome = await start_run(client, event, task_queue=task_queue, collect=False)
        return run_handle(client, outcome.workflow_id)

    activation = await start(
        activated(contract, date(2026, 3, 20), date(2026, 4, 1), event_id=f"evt-a-{tag}")
    )
    _expect(await activation.result(), RunState.DELIVERED)
    close = await start(
        cycle_closed(contract, (date(2026, 3, 1), date(2026, 4, 1)), event_id=f"evt-c-{tag}")
    )
    _expect(await close.result(), RunState.DELIVERED)
    await reset_run(client, activation.id, to="first")
    again = run_handle(client, activation.id)
    _expect(await again.result(), RunState.DELIVERED)
    return [await _write(again, out / "overlap" / "activation_reset_after_close.json")]


def _expect(status: RunStatus, state: RunState) -> None:
    if status.state is not state:
        raise RuntimeError(f"ended {status.state.value}, expected {state.value}: {status.reason}")


async def record_fanout(stack: DevStack, out: Path, folder: Path) -> list[Path]:
    """`out`/calendar_fanout/fanout_with_skips.json: a fire for 1 December 2026 over the demo
    contracts and one with bill-cycle day 0."""
    tag = uuid.uuid4().hex[:4]
    async with stack.systems_client() as http:
        await _contract(http, f"C-HIST-DAY0-{tag}", start_date="2026-01-01", bill_cycle_day=0)
    async with time_skipping_worker(
        systems_url=stack.systems_url,
        systems_token=stack.token,
        smtp_url=f"smtp://127.0.0.1:{stack.ports.outbox}?starttls=off",
        folder=folder,
    ) as skipping:
        key = CalendarKey(
            interval="monthly", alignment="calendar", bill_cycle_day=1, time_zone="Europe/Berlin"
        )
        fanout = await skipping.env.client.start_workflow(
            CalendarFanOutWorkflow.run,
            FanOutInput(
                calendar=key,
                task_queue=f"{skipping.task_queue}-unpolled",
                page_size=1000,
                collect=False,
                fired_at=nominal_fire(key, date(2026, 12, 1)),
            ),
            id=f"q2c-histories-fanout-{tag}",
            task_queue=skipping.task_queue,
        )
        fired = await fanout.result()
        if not fired.skipped or not fired.started:
            raise RuntimeError(f"the fan-out started {fired.started}, skipped {fired.skipped}")
        return [await _write(fanout, out / "calendar_fanout" / "fanout_with_skips.json")]
