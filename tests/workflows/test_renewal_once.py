"""A renewal and a close of the same period bill it once (the `renewal-once` patch), on the
time-skipping server: whichever run began first bills; the other has nothing to bill and
names it. The calendar starts a renewal instead of the close at a term's end
(billing/calendar_due.py); an event sent by hand with the other type must not bill again.

A 120.00 EUR/month plan paid in advance, one-year terms from 1 December 2025: the first term
ends on 1 December 2026, the day November closes. The period bills December in advance,
120.00 (no usage on this contract), once.
"""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
from temporalio.testing import WorkflowEnvironment

from devstack.histories_overlap import TEAM_PLAN
from schemas.events import ContractRenewed
from schemas.runs import RunState
from tests.conftest import SystemsService
from tests.events import closed
from tests.workflows.runs import billed_lines, run_to_end, worker_on

pytestmark = pytest.mark.asyncio(loop_scope="session")

NOVEMBER, DECEMBER, JANUARY = date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)


@pytest.fixture
async def task_queue(
    time_skipping_env: WorkflowEnvironment, systems: SystemsService
) -> AsyncIterator[str]:
    queue = f"q2c-renewal-{uuid.uuid4()}"
    async with worker_on(time_skipping_env, systems, queue):
        yield queue


async def _contract(systems: SystemsService) -> str:
    contract_id = f"C-REN-{uuid.uuid4().hex[:6]}"
    async with systems.client() as http:
        seeded = (await http.get("/crm/contracts/C-1016", params={"as_of": "2026-01-01"})).json()
        body = {
            **seeded,
            "id": contract_id,
            "start_date": "2025-12-01",
            "effective_from": None,
            "term_months": 12,
            "charges": [TEAM_PLAN],
        }
        assert (await http.put(f"/crm/contracts/{contract_id}", json=body)).status_code == 201
    return contract_id


def _renewed(contract_id: str) -> ContractRenewed:
    return ContractRenewed(
        type="contract.renewed",
        event_id=f"evt-{uuid.uuid4()}",
        schema_version=1,
        occurred_at=datetime(2026, 12, 1, tzinfo=UTC),
        contract_id=contract_id,
        period_start=NOVEMBER,
        period_end=DECEMBER,
    )


@pytest.mark.parametrize("renewal_first", [True, False], ids=["renewal first", "close first"])
async def test_the_period_at_a_terms_end_is_billed_once_by_the_run_that_began_first(
    time_skipping_env: WorkflowEnvironment,
    systems: SystemsService,
    task_queue: str,
    renewal_first: bool,
) -> None:
    contract_id = await _contract(systems)
    renewal, close = _renewed(contract_id), closed(contract_id, NOVEMBER, DECEMBER)
    first, second = (renewal, close) if renewal_first else (close, renewal)
    billed = await run_to_end(time_skipping_env, first, task_queue)
    assert billed.state is RunState.DELIVERED, billed.reason
    assert billed_lines(billed) == [("team", "120.00", DECEMBER, JANUARY)]

    again = await run_to_end(time_skipping_env, second, task_queue)
    assert again.state is RunState.NOTHING_TO_BILL
    assert again.documents == []
    assert again.reason == (
        f"the period 2026-11-01 to 2026-12-01 was already billed by q2c:{first.business_key}: "
        "nothing to bill"
    )
