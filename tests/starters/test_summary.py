"""What a run says about itself from its start (the UI's summary and details): the reason,
the contract, the customer id when known and the period, and nothing personal."""

import uuid
from datetime import UTC, date, datetime

import pytest
from temporalio.testing import WorkflowEnvironment

from schemas.events import BillingCycleClosed, MilestoneCompleted
from starters.intake import start_run
from starters.summary import run_details, run_summary

QUEUE = "q2c-summary-no-worker"  # nothing polls: the run waits, which is all this needs


def _cycle(contract_id: str = "C-1009") -> BillingCycleClosed:
    return BillingCycleClosed(
        type="billing_cycle.closed",
        event_id=f"evt-{uuid.uuid4()}",
        schema_version=1,
        occurred_at=datetime(2026, 11, 1, tzinfo=UTC),
        contract_id=contract_id,
        period_start=date(2026, 10, 1),
        period_end=date(2026, 11, 1),
    )


def test_a_cycle_run_names_its_reason_contract_and_calendar_month() -> None:
    # The period's end is exclusive: October is 1 to 31.
    assert (
        run_summary(_cycle()) == "Billing cycle closed · contract C-1009 · 2026-10-01 to 2026-10-31"
    )
    assert run_summary(_cycle(), customer_id="CU-1009") == (
        "Billing cycle closed · contract C-1009 · customer CU-1009 · 2026-10-01 to 2026-10-31"
    )


def test_a_milestone_run_names_the_milestone_and_its_day() -> None:
    event = MilestoneCompleted(
        type="milestone.completed",
        event_id="evt-m",
        schema_version=1,
        occurred_at=datetime(2026, 5, 4, tzinfo=UTC),
        contract_id="C-1011",
        milestone_id="go-live",
        completed_on=date(2026, 5, 4),
    )
    assert (
        run_summary(event)
        == "Milestone completed · contract C-1011 · milestone go-live on 2026-05-04"
    )
    assert "| Milestone | milestone go-live on 2026-05-04 |" in run_details(event)


def test_the_details_name_the_event_and_the_business_key() -> None:
    event = _cycle()
    details = run_details(event)
    assert f"`billing_cycle.closed` event `{event.event_id}`" in details
    assert "| Business key | `q2c:C-1009:cycle:2026-10-01:2026-11-01` |" in details
    assert "| Customer | read from the CRM by the run |" in details


@pytest.mark.e2e
async def test_a_started_run_carries_its_summary_and_details(
    dev_server_env: WorkflowEnvironment,
) -> None:
    client = dev_server_env.client
    event = _cycle(f"C-{uuid.uuid4().hex[:8]}")
    outcome = await start_run(client, event, task_queue=QUEUE, customer_id="CU-7")
    described = await client.get_workflow_handle(outcome.workflow_id).describe()
    assert await described.static_summary() == (
        f"Billing cycle closed · contract {event.contract_id} · customer CU-7 · "
        "2026-10-01 to 2026-10-31"
    )
    assert "| Customer | `CU-7` |" in (await described.static_details() or "")
    await client.get_workflow_handle(outcome.workflow_id).terminate("test done")
