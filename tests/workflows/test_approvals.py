"""Approval as a time-bound step: policy refusals, two approvers, reminders, escalation and
expiry on Temporal timers (time-skipping environment), and the timers surviving a worker
restart (dev server, real time)."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from billing.routing import RoutingPolicy, load_policy
from schemas.approvals import Decision
from schemas.events import BillingCycleClosed
from schemas.runs import RunInput, RunState
from tests.activities.loopback import serve
from tests.conftest import SystemsService
from tests.events import cycle_closed
from tests.workflows.runs import Handle, until, worker_on
from tests.workflows.test_quote_to_cash import Runner
from workers.settings import Settings
from workflows.quote_to_cash import QuoteToCashWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")

HOUR = 3600


def _policy(
    *, webhook_url: str = "", dual_at: str | None = None, lead_limit: str | None = None
) -> RoutingPolicy:
    shipped = load_policy()
    approvals = shipped.approvals
    if dual_at is not None:
        approvals = approvals.model_copy(update={"dual_approval_at": {"USD": Decimal(dual_at)}})
    if lead_limit is not None:
        lead = approvals.approvers[0].model_copy(update={"limits": {"USD": Decimal(lead_limit)}})
        approvals = approvals.model_copy(update={"approvers": [lead, *approvals.approvers[1:]]})
    return shipped.model_copy(
        update={
            "approvals": approvals,
            "notify": shipped.notify.model_copy(update={"webhook_url": webhook_url}),
        }
    )


@asynccontextmanager
async def _worker(
    env: WorkflowEnvironment, systems: SystemsService, policy: RoutingPolicy, task_queue: str
) -> AsyncIterator[Runner]:
    async with worker_on(env, systems, task_queue, policy=policy):
        yield Runner(env, task_queue, systems)


async def _start(runner: Runner, month: int, **timers: int) -> Handle:
    # A copy of C-1009 (a non-standard clause: it waits for approval) of the test's own.
    contract_id = await runner.copy("C-1009")
    return await _start_for(runner, cycle_closed(contract_id, month, year=2027), **timers)


async def _start_for(runner: Runner, event: BillingCycleClosed, **timers: int) -> Handle:
    return await runner.env.client.start_workflow(
        QuoteToCashWorkflow.run,
        RunInput(event=event, collect=False, **timers),
        id=f"test:{event.business_key}:{uuid.uuid4()}",
        task_queue=runner.task_queue,
    )


def _webhook() -> tuple[FastAPI, list[dict[str, Any]]]:
    received: list[dict[str, Any]] = []
    app = FastAPI()

    @app.post("/hook")
    async def hook(body: dict[str, Any]) -> dict[str, str]:
        received.append(body)
        return {"ok": "yes"}

    return app, received


async def test_reminder_then_escalation_then_expiry_each_notify(
    time_skipping_env: WorkflowEnvironment, systems: SystemsService
) -> None:
    app, received = _webhook()
    with serve(app) as url:
        policy = _policy(webhook_url=f"{url}/hook")
        async with _worker(time_skipping_env, systems, policy, f"q2c-{uuid.uuid4()}") as runner:
            handle = await _start(
                runner,
                7,
                reminder_seconds=HOUR,
                escalation_seconds=2 * HOUR,
                approval_timeout_seconds=3 * HOUR,
            )
            waiting = await runner.wait_for(handle, RunState.AWAITING_APPROVAL)
            run_id = (await handle.describe()).run_id
            assert waiting.approval is not None
            assert waiting.approval.tier == 1
            assert waiting.approval.approvers == [
                "ar.lead@q2c.example",
                "billing.ops@q2c.example",
            ]
            assert waiting.approval.due_at - waiting.approval.waiting_since == timedelta(hours=3)

            await time_skipping_env.sleep(timedelta(minutes=90))
            reminded = await until(
                handle, lambda s: s.approval is not None and bool(s.approval.reminded_at)
            )
            assert reminded.approval is not None and reminded.approval.escalated_at is None

            await time_skipping_env.sleep(timedelta(hours=1))
            escalated = await until(
                handle, lambda s: s.approval is not None and s.approval.tier == 2
            )
            assert escalated.approval is not None
            assert escalated.approval.approvers == ["controller@q2c.example"]

            result = await handle.result()
    assert result.state is RunState.NEEDS_ATTENTION
    assert result.reason_code == "approval_expired"
    assert [r["kind"] for r in received] == ["reminder", "escalation", "expired"]
    assert received[1]["approvers"] == ["controller@q2c.example"]
    assert "Non-standard clause" in received[0]["summary"]
    # Each notice links the run's page (its User Metadata tab) and the approvers' view.
    ui = Settings().ui_url
    assert received[0]["link"] == (
        f"{ui}/namespaces/default/workflows/{quote(handle.id, safe='')}/{run_id}/user-metadata"
    )
    assert received[0]["view_link"] == (
        f"{ui}/namespaces/default/workflows?query=Q2CStatus+%3D+%22AwaitingApproval%22+AND+"
        "DunningLevel+IS+NULL"
    )


async def test_timers_survive_a_worker_restart(
    dev_server_env: WorkflowEnvironment, systems: SystemsService
) -> None:
    # Real time on the dev server: the timers fire while no worker runs at all.
    task_queue = f"q2c-{uuid.uuid4()}"
    policy = _policy()
    async with _worker(dev_server_env, systems, policy, task_queue) as runner:
        handle = await _start(runner, 8, reminder_seconds=1, escalation_seconds=2)
        await runner.wait_for(handle, RunState.AWAITING_APPROVAL)
    await asyncio.sleep(3)
    async with _worker(dev_server_env, systems, policy, task_queue):
        escalated = await until(handle, lambda s: s.approval is not None and s.approval.tier == 2)
        assert escalated.approval is not None and escalated.approval.reminded_at is not None
        status = await handle.execute_update(
            QuoteToCashWorkflow.decide,
            Decision(verdict="approve", approver="controller@q2c.example", comment="late but ok"),
        )
        assert status.decisions[0].approver == "controller@q2c.example"
        assert (await handle.result()).state is RunState.DELIVERED


async def test_above_the_approvers_limit_is_refused_and_recorded(
    time_skipping_env: WorkflowEnvironment, systems: SystemsService
) -> None:
    policy = _policy(lead_limit="10000")
    async with _worker(time_skipping_env, systems, policy, f"q2c-{uuid.uuid4()}") as runner:
        handle = await _start(runner, 9)
        waiting = await runner.wait_for(handle, RunState.AWAITING_APPROVAL)
        assert waiting.approval is not None and waiting.approval.tier == 1
        assert waiting.approval.approvers == ["billing.ops@q2c.example"]
        await handle.signal("approve", {"approver": "ar.lead@q2c.example", "comment": "ok"})
        refused = await until(handle, lambda s: len(s.refused) == 1)
        assert (
            "may approve up to 10000 USD; this invoice is 18000.00 USD" in refused.refused[0].cause
        )
        assert refused.state is RunState.AWAITING_APPROVAL
        description = await handle.describe()
        details = await _current_details(time_skipping_env, handle)
        assert "may approve up to 10000 USD" in details, description
        with pytest.raises(WorkflowUpdateFailedError) as error:
            await handle.execute_update(
                QuoteToCashWorkflow.decide,
                Decision(verdict="approve", approver="ar.lead@q2c.example"),
            )
        assert "may approve up to 10000 USD" in str(error.value.cause)
        await handle.signal("approve", {"approver": "billing.ops@q2c.example", "comment": "ok"})
        assert (await handle.result()).state is RunState.DELIVERED


async def test_two_different_approvers_above_the_dual_tier(
    time_skipping_env: WorkflowEnvironment, systems: SystemsService
) -> None:
    policy = _policy(dual_at="15000")
    async with _worker(time_skipping_env, systems, policy, f"q2c-{uuid.uuid4()}") as runner:
        handle = await _start(runner, 10)
        waiting = await runner.wait_for(handle, RunState.AWAITING_APPROVAL)
        assert waiting.approval is not None and waiting.approval.approvals_needed == 2
        await handle.signal("approve", {"approver": "ar.lead@q2c.example", "comment": "one"})
        await handle.signal("approve", {"approver": "AR.LEAD@q2c.example", "comment": "again"})
        status = await until(handle, lambda s: len(s.refused) == 1)
        assert "second approval must come from a different approver" in status.refused[0].cause
        assert status.state is RunState.AWAITING_APPROVAL
        assert status.approval is not None
        assert status.approval.approved_by == ["ar.lead@q2c.example"]
        with pytest.raises(WorkflowUpdateFailedError, match="Update is rejected|failed") as error:
            await handle.execute_update(
                QuoteToCashWorkflow.decide,
                Decision(verdict="approve", approver="ar.lead@q2c.example"),
            )
        assert "different approver" in str(error.value.cause)
        await handle.execute_update(
            QuoteToCashWorkflow.decide,
            Decision(verdict="approve", approver="controller@q2c.example", comment="two"),
        )
        result = await handle.result()
    assert result.state is RunState.DELIVERED
    assert [d.approver for d in result.decisions] == [
        "ar.lead@q2c.example",
        "controller@q2c.example",
    ]


async def test_malformed_json_and_unknown_approvers_are_recorded_not_dropped(
    time_skipping_env: WorkflowEnvironment, systems: SystemsService
) -> None:
    async with _worker(time_skipping_env, systems, _policy(), f"q2c-{uuid.uuid4()}") as runner:
        handle = await _start(runner, 11)
        await runner.wait_for(handle, RunState.AWAITING_APPROVAL)
        await handle.signal("approve", ["a", "list"])
        await handle.signal("reject", {"approver": 42})
        await handle.signal("approve", {"approver": "intruder@evil.example"})
        status = await until(handle, lambda s: len(s.refused) == 3)
        causes = [r.cause for r in status.refused]
        assert causes[0].startswith("approve: ")
        assert causes[1].startswith("reject: approver:")
        assert "not an approver in the policy" in causes[2]
        assert '"a"' in status.refused[0].received
        details = await _current_details(time_skipping_env, handle)
        assert "Refused attempts:" in details and "intruder@evil.example" in details
        await handle.signal("reject", {"approver": "cfo@q2c.example", "comment": "no"})
        assert (await handle.result()).state is RunState.REJECTED


async def _current_details(env: WorkflowEnvironment, handle: Handle) -> str:
    # The UI reads the same text through the `__temporal_workflow_metadata` query.
    from temporalio.api.sdk.v1 import WorkflowMetadata

    metadata: Any = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    assert env is not None
    return str(metadata.current_details)
