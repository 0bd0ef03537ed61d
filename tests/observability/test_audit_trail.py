"""A real run on a worker with the audit interceptor: every handoff lands once. A run that
posts bills a copy of a seeded contract of its own test, so no two tests post under one key."""

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import date
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from schemas.audit import Handoff, Outcome
from schemas.runs import RunInput, RunState
from tests.conftest import SystemsService, start_time_skipping
from tests.e2e.test_amendment import _raised_fee
from tests.events import amended, cycle_closed
from tests.observability.runs import run_to_end
from tests.own_contracts import copy_contract
from tests.workflows.runs import until, worker_on
from workers.audit.store import AuditStore
from workflows.quote_to_cash import QuoteToCashWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")


class CommitsThenFails:
    """An audit database that commits the first write of `step`, then reports an error:
    the activity is retried and writes the same handoff again."""

    def __init__(self, store: AuditStore, *, step: str) -> None:
        self.store = store
        self.step = step
        self.failed = False

    def record(self, handoffs: Sequence[Handoff]) -> None:
        self.store.record(handoffs)
        if not self.failed and any(h.step == self.step for h in handoffs):
            self.failed = True
            raise ConnectionError("connection lost after commit")


@pytest.fixture
def store(tmp_path: Path) -> AuditStore:
    audit = AuditStore(url=f"sqlite:///{tmp_path / 'audit.db'}")
    audit.create()
    return audit


async def _run(
    env: WorkflowEnvironment,
    systems: SystemsService,
    recorder: AuditStore | CommitsThenFails,
    *,
    contract_id: str,
    month: int,
) -> tuple[str, RunState]:
    task_queue = f"q2c-audit-{uuid.uuid4()}"
    async with worker_on(env, systems, task_queue, audit=recorder):
        workflow_id, status = await run_to_end(
            env.client, contract_id=contract_id, month=month, task_queue=task_queue
        )
    return workflow_id, status.state


@pytest.fixture
async def unskipped_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of its own, whose clock no earlier test has moved on: the
    workflow's clock (the run's outcome) and the wall clock (its steps) then agree."""
    env = await start_time_skipping()
    yield env
    await env.shutdown()


async def test_a_posted_run_records_each_handoff_once(
    unskipped_env: WorkflowEnvironment, systems: SystemsService, store: AuditStore
) -> None:
    contract_id = (await copy_contract(systems, "C-1008")).contract_id  # straight through
    workflow_id, state = await _run(unskipped_env, systems, store, contract_id=contract_id, month=8)
    assert state is RunState.DELIVERED
    rows = [h for h in store.read() if h.workflow_id == workflow_id]
    steps = [(h.step, h.outcome) for h in rows]
    for expected in [
        ("received", Outcome.RECEIVED),
        ("validate_customer", Outcome.SUCCESS),
        ("fetch_usage", Outcome.SUCCESS),
        ("draft_invoice", Outcome.SUCCESS),
        ("compute_tax", Outcome.SUCCESS),
        ("route", Outcome.SUCCESS),
        ("post_invoice", Outcome.SUCCESS),
        ("reconcile", Outcome.SUCCESS),
        ("deliver_document", Outcome.SUCCESS),
        ("outcome", Outcome.DELIVERED),
    ]:
        assert steps.count(expected) == 1, expected
    by_step = {h.step: h for h in rows}
    assert {by_step[s].system for s in ("validate_customer", "post_invoice")} == {"crm", "erp"}
    assert by_step["validate_customer"].product_line
    assert by_step["validate_customer"].customer_id
    assert by_step["post_invoice"].amount == by_step["compute_tax"].amount != ""
    assert all(h.started_at <= h.finished_at for h in rows)
    assert by_step["received"].started_at <= by_step["validate_customer"].started_at
    assert by_step["outcome"].finished_at >= by_step["reconcile"].finished_at


async def test_broken_master_data_records_needs_attention_with_its_reason(
    time_skipping_env: WorkflowEnvironment, systems: SystemsService, store: AuditStore
) -> None:
    workflow_id, state = await _run(
        time_skipping_env, systems, store, contract_id="C-1010", month=8
    )
    assert state is RunState.NEEDS_ATTENTION
    outcome = [h for h in store.read() if h.workflow_id == workflow_id and h.step == "outcome"]
    assert [(h.outcome, h.reason_code, h.system) for h in outcome] == [
        (Outcome.NEEDS_ATTENTION, "customer_invalid", "crm")
    ]


async def test_a_retried_activity_does_not_write_twice(
    time_skipping_env: WorkflowEnvironment, systems: SystemsService, store: AuditStore
) -> None:
    flaky = CommitsThenFails(store, step="validate_customer")
    contract_id = (await copy_contract(systems, "C-1008")).contract_id
    workflow_id, state = await _run(
        time_skipping_env, systems, flaky, contract_id=contract_id, month=9
    )
    assert flaky.failed
    assert state is RunState.DELIVERED
    rows = [h for h in store.read() if h.workflow_id == workflow_id]
    validated = [h for h in rows if h.step == "validate_customer"]
    assert [(h.outcome, h.attempt) for h in validated] == [(Outcome.SUCCESS, 1)]
    assert [h.step for h in rows].count("received") == 1


@pytest.mark.parametrize(
    ("verdict", "final"), [("approve", RunState.DELIVERED), ("reject", RunState.REJECTED)]
)
async def test_a_decision_records_who_decided_and_a_rejection_closes_the_run(
    time_skipping_env: WorkflowEnvironment,
    systems: SystemsService,
    store: AuditStore,
    verdict: str,
    final: RunState,
) -> None:
    task_queue = f"q2c-audit-{uuid.uuid4()}"
    contract_id = (await copy_contract(systems, "C-1009")).contract_id  # waits for a person
    async with worker_on(time_skipping_env, systems, task_queue, audit=store):
        handle = await time_skipping_env.client.start_workflow(
            QuoteToCashWorkflow.run,
            RunInput(event=cycle_closed(contract_id, 10, year=2028), collect=False),
            id=f"obs:decision:{uuid.uuid4()}",
            task_queue=task_queue,
        )
        await until(handle, lambda s: s.state is RunState.AWAITING_APPROVAL)
        await handle.signal(verdict, {"approver": "cfo@q2c.example", "comment": "looked"})
        result = await handle.result()
    assert result.state is final
    rows = [h for h in store.read() if h.workflow_id == handle.id]
    decisions = [(h.step, h.outcome, h.decided_by, h.system) for h in rows if h.step == "approval"]
    expected = Outcome.APPROVED if verdict == "approve" else Outcome.REJECTED
    assert (
        "approval",
        expected,
        "cfo@q2c.example",
        "approver",
    ) in decisions
    outcomes = [(h.outcome, h.reason_code) for h in rows if h.step == "outcome"]
    if verdict == "reject":
        assert outcomes == [(Outcome.REJECTED, "rejected")]
        assert not any(h.step == "post_invoice" for h in rows)
    else:
        assert outcomes == [(Outcome.DELIVERED, "")]


async def _outcomes_of(
    env: WorkflowEnvironment, systems: SystemsService, store: AuditStore, input: RunInput
) -> tuple[RunState, list[tuple[Outcome, str, str]]]:
    """Run `input` to its end; the outcome rows its run wrote: (outcome, code, system)."""
    task_queue = f"q2c-audit-{uuid.uuid4()}"
    workflow_id = f"obs:outcome:{uuid.uuid4()}"
    async with worker_on(env, systems, task_queue, audit=store):
        result = await env.client.execute_workflow(
            QuoteToCashWorkflow.run, input, id=workflow_id, task_queue=task_queue
        )
    rows = [h for h in store.read() if h.workflow_id == workflow_id and h.step == "outcome"]
    return result.state, [(h.outcome, h.reason_code, h.system) for h in rows]


@pytest.mark.parametrize(
    ("input", "final", "outcome"),
    [
        # No such contract in the CRM: a 404 from validate_customer, the CRM's step.
        (
            RunInput(event=cycle_closed("C-9999", 8), collect=False),
            RunState.NEEDS_ATTENTION,
            (Outcome.NEEDS_ATTENTION, "contract_not_found", "crm"),
        ),
        # C-1009 carries a non-standard clause: it waits, and no one decides within a minute.
        (
            RunInput(
                event=cycle_closed("C-1009", 12, year=2028),
                approval_timeout_seconds=60,
                collect=False,
            ),
            RunState.NEEDS_ATTENTION,
            (Outcome.NEEDS_ATTENTION, "approval_expired", "approver"),
        ),
    ],
    ids=["permanent_failure", "approval_expired"],
)
async def test_the_run_records_its_outcome_once_naming_where_the_problem_came_from(
    time_skipping_env: WorkflowEnvironment,
    systems: SystemsService,
    store: AuditStore,
    input: RunInput,
    final: RunState,
    outcome: tuple[Outcome, str, str],
) -> None:
    state, outcomes = await _outcomes_of(time_skipping_env, systems, store, input)
    assert (state, outcomes) == (final, [outcome])


async def test_an_amendment_posted_records_one_outcome_after_both_documents(
    time_skipping_env: WorkflowEnvironment, systems: SystemsService, store: AuditStore
) -> None:
    # Two documents, two reconciles: one outcome, after both. A copy of C-1016 with both its
    # seeded terms, so it posts under keys of the test's own.
    own = await copy_contract(systems, "C-1016", every_version=True)
    input = RunInput(
        event=amended(own.contract_id, date(2026, 7, 16), date(2026, 8, 1)), collect=False
    )
    state, outcomes = await _outcomes_of(time_skipping_env, systems, store, input)
    assert (state, outcomes) == (RunState.DELIVERED, [(Outcome.DELIVERED, "", "q2c")])


async def test_an_amendment_with_nothing_to_post_records_nothing_to_bill(
    time_skipping_env: WorkflowEnvironment, systems: SystemsService, store: AuditStore
) -> None:
    async with systems.client() as http:
        contract_id = await _raised_fee(http, "C-OBS-ARREARS", pay_in_advance=False)
    input = RunInput(
        event=amended(contract_id, date(2026, 10, 16), date(2026, 11, 1)), collect=False
    )
    state, outcomes = await _outcomes_of(time_skipping_env, systems, store, input)
    assert state is RunState.NOTHING_TO_BILL
    assert outcomes == [(Outcome.NOTHING_TO_BILL, "", "q2c")]
