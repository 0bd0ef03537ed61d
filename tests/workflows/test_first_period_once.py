"""The first period's in-advance fee is billed once even when a close is reset past its
activation check, when an activation is reset to its first task, when both post at the same
moment, or when retention has deleted the close an activation looks for; on the dev server
(it resets and deletes runs), with the systems service's ERP.

A 120.00 EUR/month plan paid in advance from 20 March 2026, calendar months. Amounts by
hand: March's share is 12 of 31 days, 120 × 12/31 = 46.4516… → 46.45; April in advance is
120.00. Lago ("Assign a plan", docs.getlago.com/guide/subscriptions/assign-plan) bills the
46.45 at activation and 120.00 at the first close; a first close without an activation
invoice bills both.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from devstack.histories_overlap import TEAM_PLAN
from devstack.resets import reset_run
from schemas.errors import ReasonCode
from schemas.events import ContractEvent
from schemas.runs import RunState
from starters.intake import run_handle, start_run
from tests.conftest import SystemsService
from tests.events import activated, closed
from tests.workflows.runs import Handle, Line, billed_lines, deleted, until, worker_on

pytestmark = pytest.mark.asyncio(loop_scope="session")

MARCH_1, MARCH_20 = date(2026, 3, 1), date(2026, 3, 20)
APRIL, MAY = date(2026, 4, 1), date(2026, 5, 1)
APPROVE = {"approver": "cfo@q2c.example", "comment": "ok"}
MARCH_FEE = ("team", "46.45", MARCH_20, APRIL)
APRIL_FEE = ("team", "120.00", APRIL, MAY)


@pytest.fixture
async def queue(dev_server_env: WorkflowEnvironment, systems: SystemsService) -> AsyncIterator[str]:
    name = f"q2c-first-period-{uuid.uuid4()}"
    async with worker_on(dev_server_env, systems, name):
        yield name


async def _contract(http: httpx.AsyncClient, *, approval: bool) -> str:
    seeded = (await http.get("/crm/contracts/C-1016", params={"as_of": "2026-01-01"})).json()
    contract_id = f"C-ONCE-{uuid.uuid4().hex[:6]}"
    # A non-standard clause routes every run of the contract to approval.
    clauses = ["Service credits of 10% for each hour of downtime"] if approval else []
    body = {
        **seeded,
        "id": contract_id,
        "start_date": MARCH_20.isoformat(),
        "effective_from": MARCH_20.isoformat(),
        "charges": [TEAM_PLAN],
        "non_standard_clauses": clauses,
    }
    assert (await http.put(f"/crm/contracts/{contract_id}", json=body)).status_code == 201
    return contract_id


async def _start(client: Client, event: ContractEvent, queue: str) -> Handle:
    outcome = await start_run(client, event, task_queue=queue, collect=False)
    return run_handle(client, outcome.workflow_id)


async def _billed(http: httpx.AsyncClient, contract_id: str) -> list[Line]:
    """Every invoice line the ERP holds for the contract."""
    response = await http.get("/erp/postings", params={"contract_id": contract_id})
    response.raise_for_status()
    return sorted(
        (
            str(line["charge_id"]),
            str(line["amount"]),
            date.fromisoformat(line["period_start"]),
            date.fromisoformat(line["period_end"]),
        )
        for posting in response.json()
        if posting["invoice"]["document_type"] == "invoice"
        for line in posting["invoice"]["lines"]
    )


def _in(state: RunState) -> Any:
    return lambda status: status.state is state


async def test_a_close_reset_past_its_activation_check_does_not_bill_the_first_days_again(
    dev_server_env: WorkflowEnvironment, systems: SystemsService, queue: str
) -> None:
    client = dev_server_env.client
    async with systems.client() as http:
        contract_id = await _contract(http, approval=True)
    # The close finds no activation and drafts March's days with April; it is rejected.
    close = await _start(client, closed(contract_id, MARCH_1, APRIL), queue)
    drafted = await until(close, _in(RunState.AWAITING_APPROVAL), within=60)
    assert sorted(billed_lines(drafted)) == [APRIL_FEE, MARCH_FEE]
    await close.signal("reject", {"approver": "cfo@q2c.example", "comment": "wrong date"})
    assert (await close.result()).state is RunState.REJECTED
    # With no close open or posted, the activation bills March's days.
    activation = await _start(client, activated(contract_id, MARCH_20, APRIL), queue)
    await until(activation, _in(RunState.AWAITING_APPROVAL), within=60)
    await activation.signal("approve", APPROVE)
    assert billed_lines(await activation.result()) == [MARCH_FEE]

    # The rejection taken back: the close is reset to before it (its activation check, which
    # found nothing, stays in its history) and approved. The ERP, asked again at posting,
    # holds March's days on the activation invoice: nothing is posted.
    await reset_run(client, close.id, to="before-signal", reapply_signals=False)
    current = run_handle(client, close.id)
    await until(current, _in(RunState.AWAITING_APPROVAL), within=60)
    await current.signal("approve", APPROVE)
    stopped = await current.result()
    assert stopped.state is RunState.NEEDS_ATTENTION
    assert stopped.reason_code == ReasonCode.POSTING_CONFLICT
    assert activation.id in stopped.reason  # the activation's posting key
    async with systems.client() as http:
        assert await _billed(http, contract_id) == [MARCH_FEE]

    # Reset to its first workflow task, before the activation check, the close drafts again
    # and bills April alone.
    await reset_run(client, close.id, to="first", reapply_signals=False)
    await until(current, _in(RunState.AWAITING_APPROVAL), within=60)
    await current.signal("approve", APPROVE)
    billed = await current.result()
    assert billed.state is RunState.DELIVERED, billed.reason
    assert billed_lines(billed) == [APRIL_FEE]
    async with systems.client() as http:
        assert await _billed(http, contract_id) == [APRIL_FEE, MARCH_FEE]


async def test_an_activation_after_retention_deleted_the_first_close_finds_it_in_the_erp(
    dev_server_env: WorkflowEnvironment, systems: SystemsService, queue: str
) -> None:
    client = dev_server_env.client
    async with systems.client() as http:
        contract_id = await _contract(http, approval=False)
    close = await _start(client, closed(contract_id, MARCH_1, APRIL), queue)
    first = await close.result()
    assert first.state is RunState.DELIVERED, first.reason
    assert sorted(billed_lines(first)) == [APRIL_FEE, MARCH_FEE]
    await deleted(client, close.id)

    activation = await _start(client, activated(contract_id, MARCH_20, APRIL), queue)
    late = await activation.result()
    assert late.state is RunState.NOTHING_TO_BILL, late.reason
    assert late.documents == []
    assert close.id in late.reason
    async with systems.client() as http:
        assert await _billed(http, contract_id) == [APRIL_FEE, MARCH_FEE]


async def test_an_activation_reset_to_its_first_task_after_the_close_billed_keeps_its_invoice(
    dev_server_env: WorkflowEnvironment, systems: SystemsService, queue: str
) -> None:
    """The activation bills March's 12 days, 46.45; the first close finds that invoice and
    bills April alone, 120.00. Reset to its first workflow task, the activation looks for
    the close again and finds it posted, but the ERP holds the activation's own invoice under
    its posting key (its workflow id): it drafts the same 46.45 again, and posting it gives
    back the same document. Nothing new is billed, and the run still names its invoice."""
    client = dev_server_env.client
    async with systems.client() as http:
        contract_id = await _contract(http, approval=False)
    activation = await _start(client, activated(contract_id, MARCH_20, APRIL), queue)
    first = await activation.result()
    assert first.state is RunState.DELIVERED, first.reason
    assert billed_lines(first) == [MARCH_FEE]
    close = await _start(client, closed(contract_id, MARCH_1, APRIL), queue)
    april = await close.result()
    assert april.state is RunState.DELIVERED, april.reason
    assert billed_lines(april) == [APRIL_FEE]

    await reset_run(client, activation.id, to="first")
    again = await run_handle(client, activation.id).result()
    assert again.state is RunState.DELIVERED, again.reason
    assert billed_lines(again) == [MARCH_FEE]
    assert [d.erp_document_id for d in again.documents] == [
        d.erp_document_id for d in first.documents
    ]
    async with systems.client() as http:
        assert await _billed(http, contract_id) == [APRIL_FEE, MARCH_FEE]


async def test_an_activation_reset_to_its_first_task_while_the_close_waits_leaves_it_the_fees(
    dev_server_env: WorkflowEnvironment, systems: SystemsService, queue: str
) -> None:
    """The activation awaits approval with March's 46.45; the close waits for it. Reset to
    its first workflow task, the activation finds the close open and leaves it the fees
    (nothing to bill); at its next look (a minute after it began waiting) the close finds
    the activation ended with nothing in the ERP, and bills March's 46.45 with April's
    120.00, 166.45: each fee once."""
    client = dev_server_env.client
    async with systems.client() as http:
        contract_id = await _contract(http, approval=True)
    activation = await _start(client, activated(contract_id, MARCH_20, APRIL), queue)
    await until(activation, _in(RunState.AWAITING_APPROVAL), within=60)
    close = await _start(client, closed(contract_id, MARCH_1, APRIL), queue)
    waiting = await until(close, _in(RunState.AWAITING_ACTIVATION), within=60)
    assert activation.id in waiting.reason

    await reset_run(client, activation.id, to="first")
    left = await run_handle(client, activation.id).result()
    assert left.state is RunState.NOTHING_TO_BILL, left.reason
    assert left.documents == []
    assert close.id in left.reason

    drafted = await until(close, _in(RunState.AWAITING_APPROVAL), within=240)
    assert sorted(billed_lines(drafted)) == [APRIL_FEE, MARCH_FEE]
    await close.signal("approve", APPROVE)
    billed = await close.result()
    assert billed.state is RunState.DELIVERED, billed.reason
    async with systems.client() as http:
        assert await _billed(http, contract_id) == [APRIL_FEE, MARCH_FEE]


async def test_an_activation_and_a_close_posting_at_once_bill_the_first_days_once(
    dev_server_env: WorkflowEnvironment, systems: SystemsService, queue: str
) -> None:
    """Both runs past their checks, both approved at the same moment. The close is rejected,
    so the activation (finding no close open or posted) drafts March's 46.45; the rejection
    is then taken back (reset before it), so the close, whose check found no activation,
    awaits approval with 46.45 and 120.00. Every ERP request is slowed by 3 s, so each
    posting's re-check reads the ERP before the other posting commits: both pass it. The
    ERP refuses the second invoice billing the team fee for 20 March to 1 April of the
    contract in the same transaction as its posting: that run stops with posting_conflict
    naming the first one's document, and March's 46.45 is billed once. (Before the ERP
    checked, both runs posted here: 46.45 twice. Real runs race; only the delay is injected,
    by the systems service's fault rule.)"""
    client = dev_server_env.client
    async with systems.client() as http:
        contract_id = await _contract(http, approval=True)
    close = await _start(client, closed(contract_id, MARCH_1, APRIL), queue)
    await until(close, _in(RunState.AWAITING_APPROVAL), within=60)
    await close.signal("reject", {"approver": "cfo@q2c.example", "comment": "wrong date"})
    assert (await close.result()).state is RunState.REJECTED
    activation = await _start(client, activated(contract_id, MARCH_20, APRIL), queue)
    await until(activation, _in(RunState.AWAITING_APPROVAL), within=60)
    await reset_run(client, close.id, to="before-signal", reapply_signals=False)
    current = run_handle(client, close.id)
    drafted = await until(current, _in(RunState.AWAITING_APPROVAL), within=60)
    assert sorted(billed_lines(drafted)) == [APRIL_FEE, MARCH_FEE]

    async with systems.client() as http:
        slow = {"system": "erp", "latency_ms": 3000}
        (await http.put("/admin/faults", json=slow)).raise_for_status()
        try:
            await asyncio.gather(
                current.signal("approve", APPROVE), activation.signal("approve", APPROVE)
            )
            ends = await asyncio.gather(current.result(), activation.result())
        finally:
            (await http.delete("/admin/faults", params={"system": "erp"})).raise_for_status()
        billed = await _billed(http, contract_id)
    assert billed.count(MARCH_FEE) == 1, billed
    posted = [end for end in ends if end.state is RunState.DELIVERED]
    stopped = [end for end in ends if end.state is RunState.NEEDS_ATTENTION]
    assert (len(posted), len(stopped)) == (1, 1), [(e.state, e.reason) for e in ends]
    assert stopped[0].reason_code == ReasonCode.POSTING_CONFLICT
    assert posted[0].documents[0].erp_document_id in stopped[0].reason
    assert sorted(billed) == sorted(billed_lines(posted[0]))
