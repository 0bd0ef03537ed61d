"""Activation on the dev server: the activation run posts the first days at once, the first
close then bills the next month only, and a change inside the first month is prorated.

The documents follow Lago's and Kill Bill's published behaviour, computed by hand below:
Lago, "Assign a plan" (docs.getlago.com/guide/subscriptions/assign-plan): a plan started
mid-month under calendar billing is invoiced pro rata for the days left; Kill Bill,
"Subscription Lifecycle" (docs.killbill.io/latest/aviate-subscription-lifecycle.html): an
immediate change credits the unused portion of the current plan and charges the new one for
the rest of the billing period.
"""

import uuid
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from schemas.events import workflow_id_for
from schemas.runs import RunState, RunStatus
from tests.conftest import SystemsService
from tests.events import activated, amended, closed
from tests.workflows.runs import run_to_end, worker_on

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.e2e]

MARCH_20, MARCH_25, APRIL, MAY = (
    date(2026, 3, 20),
    date(2026, 3, 25),
    date(2026, 4, 1),
    date(2026, 5, 1),
)


@pytest.fixture
async def task_queue(
    dev_server_env: WorkflowEnvironment, systems: SystemsService
) -> AsyncIterator[str]:
    queue = f"q2c-activation-{uuid.uuid4()}"
    async with worker_on(dev_server_env, systems, queue):
        yield queue


def _fee(amount: str) -> dict[str, Any]:
    return {
        "id": "team",
        "description": "Team plan",
        "kind": "recurring",
        "charge_model": "standard",
        "properties": {"amount": amount},
        "pay_in_advance": True,
    }


async def _contract(http: httpx.AsyncClient, *, upgrade_on: date | None = None) -> str:
    """C-1016's customer on a 120.00 EUR/month plan from 20 March 2026 (calendar months);
    raised to 240.00 from `upgrade_on` when given."""
    seeded = (await http.get("/crm/contracts/C-1016", params={"as_of": "2026-01-01"})).json()
    contract_id = f"C-ACT-{uuid.uuid4().hex[:6]}"
    body = {
        **seeded,
        "id": contract_id,
        "start_date": MARCH_20.isoformat(),
        "effective_from": MARCH_20.isoformat(),
        "charges": [_fee("120.00")],
    }
    assert (await http.put(f"/crm/contracts/{contract_id}", json=body)).status_code == 201
    if upgrade_on is not None:
        raised = {**body, "effective_from": upgrade_on.isoformat(), "charges": [_fee("240.00")]}
        assert (await http.put(f"/crm/contracts/{contract_id}", json=raised)).status_code == 200
    return contract_id


def _lines(status: RunStatus) -> list[tuple[str, str, str, date | None, date | None]]:
    return [
        (d.document_type, line.charge_id, str(line.amount), line.period_start, line.period_end)
        for d in status.documents
        for line in d.invoice.lines
    ]


async def test_activation_bills_at_once_and_the_first_close_bills_april_only(
    dev_server_env: WorkflowEnvironment, systems: SystemsService, task_queue: str
) -> None:
    async with systems.client() as http:
        contract_id = await _contract(http)
    activation = activated(contract_id, MARCH_20, APRIL)
    first = await run_to_end(dev_server_env, activation, task_queue)
    assert first.state is RunState.DELIVERED, first.reason
    # 12 of March's 31 days of 120.00: 46.4516… → 46.45.
    assert _lines(first) == [("invoice", "team", "46.45", MARCH_20, APRIL)]
    async with systems.client() as http:
        posted = (await http.get(f"/erp/postings/{workflow_id_for(activation)}")).json()
    assert Decimal(posted["invoice"]["subtotal"]) == Decimal("46.45")

    close = await run_to_end(
        dev_server_env, closed(contract_id, date(2026, 3, 1), APRIL), task_queue
    )
    assert close.state is RunState.DELIVERED, close.reason
    # April in advance, once: 120.00, not 46.45 + 120.00 = 166.45.
    assert _lines(close) == [("invoice", "team", "120.00", APRIL, MAY)]


async def test_an_upgrade_in_the_first_month_is_prorated_after_activation(
    dev_server_env: WorkflowEnvironment, systems: SystemsService, task_queue: str
) -> None:
    async with systems.client() as http:
        contract_id = await _contract(http, upgrade_on=MARCH_25)
    first = await run_to_end(dev_server_env, activated(contract_id, MARCH_20, APRIL), task_queue)
    # The terms in force on 20 March, not the upgrade the CRM already holds: 46.45.
    assert _lines(first) == [("invoice", "team", "46.45", MARCH_20, APRIL)]
    change = await run_to_end(dev_server_env, amended(contract_id, MARCH_25, APRIL), task_queue)
    assert change.state is RunState.DELIVERED, change.reason
    # 7 of 31 days left: credit 120 × 7/31 = 27.10, charge 240 × 7/31 = 54.19.
    assert _lines(change) == [
        ("credit_note", "team", "27.10", MARCH_25, APRIL),
        ("invoice", "team", "54.19", MARCH_25, APRIL),
    ]
    close = await run_to_end(
        dev_server_env, closed(contract_id, date(2026, 3, 1), APRIL), task_queue
    )
    assert _lines(close) == [("invoice", "team", "240.00", APRIL, MAY)]


async def test_an_activation_with_nothing_in_advance_has_nothing_to_bill(
    dev_server_env: WorkflowEnvironment, systems: SystemsService, task_queue: str
) -> None:
    async with systems.client() as http:
        contract_id = await _contract(http)
        current = (await http.get(f"/crm/contracts/{contract_id}")).json()
        in_arrears = {**current, "charges": [{**_fee("120.00"), "pay_in_advance": False}]}
        assert (await http.put(f"/crm/contracts/{contract_id}", json=in_arrears)).is_success
    event = activated(contract_id, MARCH_20, APRIL)
    result = await run_to_end(dev_server_env, event, task_queue)
    assert result.state is RunState.NOTHING_TO_BILL
    assert result.documents == []
    assert "at activation" in result.reason
    async with systems.client() as http:
        response = await http.get(f"/erp/postings/{workflow_id_for(event)}")
    assert response.status_code == 404
