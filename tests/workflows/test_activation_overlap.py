"""An activation and the first period's close that overlap bill the first period's in-advance
fee once (the `activation-settled` patch), on the time-skipping server.

A 120.00 EUR/month plan paid in advance from 20 March 2026, calendar months, with a
non-standard clause so every run waits for approval. Amounts by hand: March's share is 12 of
31 days, 120 × 12/31 = 46.4516… → 46.45; April in advance is 120.00. Lago ("Assign a plan",
docs.getlago.com/guide/subscriptions/assign-plan) invoices the 46.45 at activation and 120.00
at the first close; without an activation invoice the first close bills both, 166.45.
"""

import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from devstack.histories_overlap import TEAM_PLAN
from schemas.events import ContractEvent
from schemas.runs import RunState, RunStatus
from starters.intake import run_handle, start_run
from tests.conftest import SystemsService
from tests.events import activated, closed
from tests.workflows.runs import billed_lines, until, worker_on
from workflows.quote_to_cash import QuoteToCashWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")

MARCH_1, MARCH_20 = date(2026, 3, 1), date(2026, 3, 20)
APRIL, MAY = date(2026, 4, 1), date(2026, 5, 1)
APPROVE = {"approver": "cfo@q2c.example", "comment": "ok"}

Handle = WorkflowHandle[QuoteToCashWorkflow, RunStatus]


@pytest.fixture
async def task_queue(
    time_skipping_env: WorkflowEnvironment, systems: SystemsService
) -> AsyncIterator[str]:
    queue = f"q2c-overlap-{uuid.uuid4()}"
    async with worker_on(time_skipping_env, systems, queue):
        yield queue


async def _contract(http: httpx.AsyncClient) -> str:
    seeded = (await http.get("/crm/contracts/C-1016", params={"as_of": "2026-01-01"})).json()
    contract_id = f"C-OVL-{uuid.uuid4().hex[:6]}"
    body = {
        **seeded,
        "id": contract_id,
        "start_date": MARCH_20.isoformat(),
        "effective_from": MARCH_20.isoformat(),
        "charges": [TEAM_PLAN],
        "non_standard_clauses": ["Service credits of 10% for each hour of downtime"],
    }
    assert (await http.put(f"/crm/contracts/{contract_id}", json=body)).status_code == 201
    return contract_id


async def _start(env: WorkflowEnvironment, event: ContractEvent, task_queue: str) -> Handle:
    outcome = await start_run(env.client, event, task_queue=task_queue, collect=False)
    return run_handle(env.client, outcome.workflow_id)


def _in_state(state: RunState) -> Any:
    return lambda status: status.state is state


async def test_a_close_waits_for_the_activation_awaiting_approval_and_bills_april_only(
    time_skipping_env: WorkflowEnvironment, systems: SystemsService, task_queue: str
) -> None:
    env = time_skipping_env
    async with systems.client() as http:
        contract_id = await _contract(http)
    activation = await _start(env, activated(contract_id, MARCH_20, APRIL), task_queue)
    await until(activation, _in_state(RunState.AWAITING_APPROVAL))
    close = await _start(env, closed(contract_id, MARCH_1, APRIL), task_queue)
    waiting = await until(close, _in_state(RunState.AWAITING_ACTIVATION))
    assert activation.id in waiting.reason

    await activation.signal("approve", APPROVE)
    first = await activation.result()
    assert first.state is RunState.DELIVERED, first.reason
    assert billed_lines(first) == [("team", "46.45", MARCH_20, APRIL)]

    await env.sleep(timedelta(minutes=5))  # past the close's next look at the activation
    await until(close, _in_state(RunState.AWAITING_APPROVAL))
    await close.signal("approve", APPROVE)
    billed = await close.result()
    assert billed.state is RunState.DELIVERED, billed.reason
    # April in advance only: 46.45 was billed by the activation.
    assert billed_lines(billed) == [("team", "120.00", APRIL, MAY)]


async def test_a_close_after_a_rejected_activation_bills_the_first_days_too(
    time_skipping_env: WorkflowEnvironment, systems: SystemsService, task_queue: str
) -> None:
    env = time_skipping_env
    async with systems.client() as http:
        contract_id = await _contract(http)
    activation = await _start(env, activated(contract_id, MARCH_20, APRIL), task_queue)
    await until(activation, _in_state(RunState.AWAITING_APPROVAL))
    close = await _start(env, closed(contract_id, MARCH_1, APRIL), task_queue)
    await until(close, _in_state(RunState.AWAITING_ACTIVATION))

    await activation.signal("reject", {"approver": "cfo@q2c.example", "comment": "wrong plan"})
    assert (await activation.result()).state is RunState.REJECTED

    await env.sleep(timedelta(minutes=5))
    await until(close, _in_state(RunState.AWAITING_APPROVAL))
    await close.signal("approve", APPROVE)
    billed = await close.result()
    # Nothing was billed at activation: 46.45 for March's last 12 days and 120.00 for April.
    assert sorted(billed_lines(billed)) == [
        ("team", "120.00", APRIL, MAY),
        ("team", "46.45", MARCH_20, APRIL),
    ]


async def test_an_activation_after_the_first_close_leaves_the_fees_to_it(
    time_skipping_env: WorkflowEnvironment, systems: SystemsService, task_queue: str
) -> None:
    env = time_skipping_env
    async with systems.client() as http:
        contract_id = await _contract(http)
    close = await _start(env, closed(contract_id, MARCH_1, APRIL), task_queue)
    await until(close, _in_state(RunState.AWAITING_APPROVAL))
    # The close is open, awaiting approval, with March's days on its invoice.
    activation = await _start(env, activated(contract_id, MARCH_20, APRIL), task_queue)
    late = await activation.result()
    assert late.state is RunState.NOTHING_TO_BILL
    assert late.documents == []
    assert close.id in late.reason

    await close.signal("approve", APPROVE)
    billed = await close.result()
    assert sorted(billed_lines(billed)) == [
        ("team", "120.00", APRIL, MAY),
        ("team", "46.45", MARCH_20, APRIL),
    ]


async def test_a_later_period_does_not_wait_for_the_activation(
    time_skipping_env: WorkflowEnvironment, systems: SystemsService, task_queue: str
) -> None:
    env = time_skipping_env
    async with systems.client() as http:
        contract_id = await _contract(http)
    activation = await _start(env, activated(contract_id, MARCH_20, APRIL), task_queue)
    await until(activation, _in_state(RunState.AWAITING_APPROVAL))
    # April's close is within the first-period bound of the start, but not in March.
    april = await _start(env, closed(contract_id, APRIL, MAY), task_queue)
    waiting = await until(april, _in_state(RunState.AWAITING_APPROVAL))
    assert waiting.reason == ""
    for run in (activation, april):
        await run.signal("reject", {"approver": "cfo@q2c.example", "comment": "test over"})
        assert (await run.result()).state is RunState.REJECTED
