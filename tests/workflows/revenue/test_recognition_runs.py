"""The monthly recognition run on the dev server, against a systems service of its own:
each month's entry is booked once however often the run is killed and run again; a closed
month moves the entry; the Schedule fires it in the seller's time zone; a billing run posts
its deferral with the document."""

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC
from zoneinfo import ZoneInfo

import httpx
import pytest
from temporalio.client import ScheduleRange
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from schemas.revenue import RecognitionRunInput, RecognitionRunResult
from schemas.runs import RunInput, RunState
from starters.revenue_schedule import sync_recognition_schedule
from tests.conftest import SystemsService
from tests.events import cycle_closed
from tests.workflows.revenue_data import BILLED_IN_OCTOBER, post_billed_in, quarterly_fee, recognise
from tests.workflows.runs import worker_on
from workflows.quote_to_cash import QuoteToCashWorkflow
from workflows.revenue_recognition import RevenueRecognitionWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")
DEFERRED = "2400 Deferred revenue"


async def _balance(http: httpx.AsyncClient, currency: str) -> tuple[str, str]:
    response = await http.get(
        "/erp/revenue/deferred-balance", params={"currency": currency, "account": DEFERRED}
    )
    body = response.json()
    return body["ledger"], body["scheduled"]


async def test_killed_mid_way_and_run_again_books_each_month_once(
    dev_server_env: WorkflowEnvironment, own_systems: SystemsService, http: httpx.AsyncClient
) -> None:
    for currency in ("EUR", "USD"):
        document, _ = quarterly_fee(currency)
        await post_billed_in(http, document, scheduled=BILLED_IN_OCTOBER)
    task_queue = f"q2c-revenue-{uuid.uuid4()}"
    async with worker_on(dev_server_env, own_systems, task_queue):
        # Slow ERP: the run is stopped once EUR is booked, with USD still under way.
        await http.put("/admin/faults", json={"system": "erp", "latency_ms": 700})
        handle = await dev_server_env.client.start_workflow(
            RevenueRecognitionWorkflow.run,
            RecognitionRunInput(month="2026-10"),
            id=f"test:revenue:killed:{uuid.uuid4()}",
            task_queue=task_queue,
        )
        for _ in range(100):
            if (await http.get("/erp/revenue/recognitions/revenue:2026-10:EUR")).status_code == 200:
                break
        await handle.terminate("killed mid-way")
        await http.delete("/admin/faults")
        await asyncio.sleep(1.5)  # an activity of the killed run may still finish its call
        again = await recognise(dev_server_env, task_queue, "2026-10")
        third = await recognise(dev_server_env, task_queue, "2026-10")
    # EUR was booked by the killed run: nothing of it is due again, so the rerun leaves it.
    assert "EUR" not in [p.currency for p in again.postings if not p.already_posted]
    assert third.postings == [], "nothing is left to recognise in October"
    booked = (await http.get("/erp/revenue/recognitions", params={"month": "2026-10"})).json()
    # One entry per currency, 100.00 each: October's third of 300.00.
    assert sorted((b["posting_key"], b["amount"]) for b in booked) == [
        ("revenue:2026-10:EUR", "100.00"),
        ("revenue:2026-10:USD", "100.00"),
    ]
    # 300.00 deferred, 100.00 released: the account and the schedules both hold 200.00.
    assert await _balance(http, "EUR") == ("200.00", "200.00")
    assert await _balance(http, "USD") == ("200.00", "200.00")


async def test_a_closed_month_moves_the_entry_to_the_next_open_one(
    dev_server_env: WorkflowEnvironment, own_systems: SystemsService, http: httpx.AsyncClient
) -> None:
    document, _ = quarterly_fee("GBP", "90.00")
    await post_billed_in(http, document, scheduled=BILLED_IN_OCTOBER)
    for month in ("2026-10", "2026-11"):
        await http.post(f"/erp/periods/{month}/close")
    task_queue = f"q2c-revenue-{uuid.uuid4()}"
    async with worker_on(dev_server_env, own_systems, task_queue):
        result = await recognise(dev_server_env, task_queue, "2026-10")
    [posted] = result.postings
    assert (posted.month, posted.period, str(posted.amount)) == ("2026-10", "2026-12", "30.00")
    assert posted.reason == "2026-10 is closed in the ERP: booked in 2026-12"
    stored = (await http.get("/erp/revenue/recognitions/revenue:2026-10:GBP")).json()
    assert stored["period"] == "2026-12" and stored["reason"] == posted.reason


async def test_the_schedule_fires_on_the_first_in_the_seller_time_zone(
    dev_server_env: WorkflowEnvironment, own_systems: SystemsService
) -> None:
    task_queue = f"q2c-revenue-{uuid.uuid4()}"
    schedule_id = f"test-revenue-{uuid.uuid4()}"
    client = dev_server_env.client
    created = await sync_recognition_schedule(
        client, task_queue="elsewhere", time_zone="UTC", schedule_id=schedule_id
    )
    updated = await sync_recognition_schedule(
        client, task_queue=task_queue, time_zone="Pacific/Auckland", schedule_id=schedule_id
    )
    assert (created, updated) == ("created", "updated")
    handle = client.get_schedule_handle(schedule_id)
    try:
        spec = (await handle.describe()).schedule.spec
        assert spec.time_zone_name == "Pacific/Auckland"
        [calendar] = spec.calendars

        def first(ranges: Sequence[ScheduleRange]) -> list[tuple[int, int]]:
            return [(r.start, max(r.start, r.end)) for r in ranges]

        assert first(calendar.day_of_month) == [(1, 1)]
        assert (first(calendar.hour), first(calendar.minute)) == ([(0, 0)], [(0, 0)])
        async with worker_on(dev_server_env, own_systems, task_queue):
            await handle.trigger()
            workflow_id = ""
            for _ in range(100):
                actions = (await handle.describe()).info.recent_actions
                if actions:
                    workflow_id = str(getattr(actions[0].action, "workflow_id", ""))
                    break
                await asyncio.sleep(0.1)
            result = await client.get_workflow_handle(
                workflow_id, result_type=RecognitionRunResult
            ).result()
            fired = actions[0].scheduled_at
    finally:
        await handle.delete()
    # The month before the one the schedule fired in, on an Auckland calendar.
    local = fired.astimezone(ZoneInfo("Pacific/Auckland"))
    year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    assert result.month == f"{year:04d}-{month:02d}"
    assert result.postings == []


async def test_a_billing_run_posts_its_deferral_with_the_document(
    dev_server_env: WorkflowEnvironment, own_systems: SystemsService, http: httpx.AsyncClient
) -> None:
    # C-1001 (seeded): October's close bills October's API usage in arrears and November's
    # platform fee in advance; its deferral rides in the same posting.
    task_queue = f"q2c-revenue-{uuid.uuid4()}"
    event = cycle_closed("C-1001", 10)
    async with worker_on(dev_server_env, own_systems, task_queue):
        status = await dev_server_env.client.execute_workflow(
            QuoteToCashWorkflow.run,
            RunInput(event=event, collect=False),
            id=f"test:{event.business_key}:{uuid.uuid4()}",
            task_queue=task_queue,
        )
    assert status.state is RunState.DELIVERED, status.reason
    key = status.documents[0].posting_key
    posting = (await http.get(f"/erp/postings/{key}")).json()
    lines = (await http.get("/erp/revenue/schedule-lines", params={"posting_key": key})).json()
    # Billed in the month of its event: October's close occurs at 00:00 on 1 November (UTC).
    billed = lines[0]["billed_month"]
    assert billed == "2026-11" == event.occurred_at.astimezone(UTC).strftime("%Y-%m")
    assert all(line["deferred"] == (line["month"] >= billed) for line in lines)
    by_line: dict[str, float] = {}
    for line in lines:
        by_line[line["line_id"]] = by_line.get(line["line_id"], 0) + float(line["amount"])
    assert {i["line_id"]: float(i["amount"]) for i in posting["invoice"]["lines"]} == by_line
    journal = {j["account"]: j for j in posting["journal"]}
    deferred = sum(float(line["amount"]) for line in lines if line["deferred"])
    assert float(journal.get(DEFERRED, {"credit": "0"})["credit"]) == pytest.approx(deferred)
    ledger, scheduled = await _balance(http, posting["invoice"]["currency"])
    assert ledger == scheduled


async def test_bad_revenue_terms_post_nothing(http: httpx.AsyncClient) -> None:
    document, terms = quarterly_fee("USD")
    mismatched = document.model_copy(
        update={"revenue": terms.model_copy(update={"currency": "EUR"})}
    )
    with pytest.raises(ApplicationError) as refused:
        await post_billed_in(http, mismatched, scheduled=BILLED_IN_OCTOBER)
    assert refused.value.type == "revenue_invalid" and refused.value.non_retryable
    assert "currency" in refused.value.message
    assert (await http.get(f"/erp/postings/{document.posting_key}")).status_code == 404
