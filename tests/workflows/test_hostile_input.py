"""Megabytes of input in every signal and update a person can send, on the dev server (its
real payload limits): the run keeps only bounded cuts of it, so its status, `q2c status`,
`q2c queue` and the UI's current details keep working, and a later valid decision and
payment take the run to Paid. Each input it kept cut reaches the audit trail whole, read
from the history by an activity whose own input is ids and a hash."""

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from temporalio import workflow
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.audit import AuditActivities
from ops.queue import fetch_queue
from schemas.approvals import Decision
from schemas.collection import CollectionAnswer, PaymentNotice, RecordPayment
from schemas.runs import RunInput, RunState, RunStatus
from tests.conftest import SystemsService, own_store, running_systems
from tests.events import cycle_closed
from tests.own_contracts import copy_contract
from tests.waiting import eventually
from tests.workflows.runs import Handle, until, worker_on
from workers.audit.inputs import InputStore
from workers.audit.store import AuditStore
from workers.settings import Settings
from workers.worker import activities_for
from workflows.quote_to_cash import BOUNDED_INPUT, LEAN_RUN, QuoteToCashWorkflow
from workflows.whole_input import WHOLE_INPUT, WHOLE_INPUT_BEFORE_BOUNDED

pytestmark = pytest.mark.asyncio(loop_scope="session")

BIG = 1_100_000
"""Over the SDK's 512 KB warning, under the server's 2 MB limit for one payload."""
SMALL_ENOUGH = 64_000
"""What a run's whole status may weigh after all of it: a few KB of cut texts and counts."""
APPROVER = "ar.lead@q2c.example"
"""An approver of the shipped policy (billing/policy) for USD invoices of this size."""


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SystemsService]:
    """Systems of this module alone, each test on a contract of its own."""
    with running_systems(tmp_path_factory.mktemp("hostile")) as service:
        yield service


@pytest.fixture
def audit(tmp_path: Path) -> Iterator[AuditStore]:
    with own_store("sqlite", AuditStore, tmp_path, "q2c_hostile") as store:
        yield store


@pytest.fixture
def inputs(tmp_path: Path) -> Iterator[InputStore]:
    with own_store("sqlite", InputStore, tmp_path, "q2c_hostile_inputs") as store:
        yield store


def _size(status: RunStatus) -> int:
    return len(status.model_dump_json())


async def _details(handle: Handle) -> str:
    # The UI reads the current details through this built-in query.
    metadata: Any = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    return str(metadata.current_details)


async def _cli(env: WorkflowEnvironment, *args: str) -> subprocess.CompletedProcess[str]:
    """The `q2c` command against the test's server, while this process's worker answers."""
    environ = dict(os.environ, TEMPORAL_ADDRESS=env.client.service_client.config.target_host)
    return await asyncio.to_thread(
        subprocess.run,
        [str(Path(sys.executable).parent / "q2c"), *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def _waiting_for_approval(
    env: WorkflowEnvironment,
    own: SystemsService,
    task_queue: str,
    month: int,
    *,
    collect: bool = False,
) -> Handle:
    """A run of `month` for a copy of C-1009 (a non-standard clause: it waits for approval),
    once it waits; a worker polls `task_queue`."""
    event = cycle_closed((await copy_contract(own, "C-1009")).contract_id, month)
    handle: Handle = await env.client.start_workflow(
        QuoteToCashWorkflow.run,
        RunInput(event=event, collect=collect),
        id=f"test-hostile:{event.business_key}:{uuid.uuid4()}",
        task_queue=task_queue,
    )
    await until(handle, lambda s: s.state is RunState.AWAITING_APPROVAL)
    return handle


async def _refused_update(handle: Handle, name: str, body: Any) -> None:
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(name, body, result_type=CollectionAnswer)


async def test_megabytes_in_every_signal_and_update_leave_the_run_working(
    dev_server_env: WorkflowEnvironment,
    own: SystemsService,
    audit: AuditStore,
    inputs: InputStore,
) -> None:
    env = dev_server_env
    task_queue = f"q2c-hostile-{uuid.uuid4()}"
    async with worker_on(env, own, task_queue, audit=audit, inputs=inputs):
        handle = await _waiting_for_approval(env, own, task_queue, 3, collect=True)

        # Approval: an approver of a megabyte, a comment of a megabyte from a stranger,
        # a megabyte that is not JSON, and the `decide` update with a megabyte approver.
        await handle.signal("approve", {"approver": "y" * BIG})
        await handle.signal("reject", {"approver": "y" * BIG + "@q2c.example"})
        await handle.signal("approve", {"approver": "intruder@evil.example", "comment": "c" * BIG})
        await handle.signal("reject", "z" * BIG)
        for _ in range(3):  # three of 400 KB each, every one under the SDK's warning size
            await handle.signal("approve", {"approver": "w" * 400_000})
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(
                "decide",
                Decision(verdict="approve", approver="y" * BIG + "@q2c.example"),
                result_type=RunStatus,
            )
        for n in range(25):  # more refusals than a run keeps
            await handle.signal("approve", {"approver": f"stranger{n}@evil.example"})
        waiting = await until(handle, lambda s: s.refused_count == 32)
        assert waiting.state is RunState.AWAITING_APPROVAL
        assert len(waiting.refused) == 20, "the latest 20 are kept"
        assert _size(waiting) < SMALL_ENOUGH
        assert all(len(r.cause) < 1000 and len(r.received) < 1000 for r in waiting.refused)
        kept_first = waiting.refused[0]  # the 13th attempt: the first 12 are no longer kept
        assert kept_first.cause == (
            "approve by stranger5@evil.example: stranger5@evil.example is not an approver in "
            "the policy"
        )
        assert "approve by yyyyy" not in str(waiting.refused)

        # Every reader of the run works while it waits.
        details = await _details(handle)
        assert "Refused attempts: 32" in details and len(details) < SMALL_ENOUGH
        shown = await _cli(env, "status", handle.id, "--json")
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["refused_count"] == 32
        assert (await _cli(env, "status", handle.id)).returncode == 0
        [row] = [item for item in await fetch_queue(env.client) if item.workflow_id == handle.id]
        assert (row.refused, row.note) == (32, "")
        listed = await _cli(env, "queue", "--json")
        assert listed.returncode == 0, listed.stderr

        # A valid decision with a megabyte comment: kept cut, with the whole's length and hash.
        decided: RunStatus = await handle.execute_update(
            "decide",
            Decision(verdict="approve", approver=APPROVER, comment="ok " + "c" * BIG),
            result_type=RunStatus,
        )
        [decision] = decided.decisions
        comment = "ok " + "c" * BIG
        whole = f"{len(comment)} characters, sha256 {hashlib.sha256(comment.encode()).hexdigest()}"
        assert decision.approver == APPROVER
        assert len(decision.comment) <= 500 and whole in decision.comment
        # Posting and the first delivery (the EN 16931 stylesheets compile once) come first.
        collecting = await until(handle, lambda s: s.state.collecting, within=90)

        # Collection: megabytes in each signal (refused visibly) and each update (refused).
        await handle.signal("record_payment", {"amount": "1.00", "reference": "r" * BIG})
        await handle.signal("dispute", {"reason": "d" * BIG, "by": "someone@q2c.example"})
        await handle.signal("resolve_dispute", {"outcome": "upheld", "comment": "c" * BIG})
        big_payment = {"type": "payment.received", "amount": "1.00", "currency": "USD"}
        await _refused_update(handle, "record_payment", {**big_payment, "reference": "r" * BIG})
        await _refused_update(handle, "dispute", {"type": "dispute", "reason": "d" * BIG})
        await _refused_update(handle, "resolve_dispute", {"outcome": "upheld", "by": "b" * BIG})
        refused = await until(handle, lambda s: s.refused_count == 35)
        assert _size(refused) < SMALL_ENOUGH
        assert refused.collection is not None
        assert sum(e.action == "refused" for e in refused.collection.timeline) <= 20
        assert len(await _details(handle)) < SMALL_ENOUGH

        # A valid payment of what is due ends the run Paid, its result small.
        due = collecting.total
        assert due is not None
        notice = PaymentNotice(
            amount=Decimal(due),
            currency=collecting.currency,
            reference=f"BANK-{uuid.uuid4().hex[:8]}",
            value_date=date(2026, 4, 1),
        )
        answer: CollectionAnswer = await handle.execute_update(
            "record_payment", RecordPayment(notice), result_type=CollectionAnswer
        )
        assert answer.outcome == "applied", answer
        result = await handle.result()
        assert result.state is RunState.PAID, result.reason
        assert _size(result) < SMALL_ENOUGH
        assert (await handle.describe()).status is not None
    # The audit trail keeps who approved, and the comment's cut with the whole's length and
    # hash, to match it with the update's event in the history.
    [approved] = [h for h in audit.read() if h.step == "approval" and h.outcome == "approved"]
    assert approved.decided_by == APPROVER and whole in approved.detail

    # Whole, each input the run kept cut is in the audit trail, not in the history twice:
    # the seven oversized approval signals (three of them alike), the long comment's update
    # and the three oversized collection signals; none of the 25 small refusals.
    sent: list[tuple[str, Any]] = [
        ("approve", {"approver": "y" * BIG}),
        ("reject", {"approver": "y" * BIG + "@q2c.example"}),
        ("approve", {"approver": "intruder@evil.example", "comment": "c" * BIG}),
        ("reject", "z" * BIG),
        ("approve", {"approver": "w" * 400_000}),
        ("decide", {"verdict": "approve", "approver": APPROVER, "comment": comment}),
        ("record_payment", {"amount": "1.00", "reference": "r" * BIG}),
        ("dispute", {"reason": "d" * BIG, "by": "someone@q2c.example"}),
        ("resolve_dispute", {"outcome": "upheld", "comment": "c" * BIG}),
    ]
    kept = inputs.read(handle.id)
    assert [(k.name, json.loads(k.data)) for k in kept] == sent
    assert all(
        k.size == len(k.data) and k.sha256 == hashlib.sha256(k.data).hexdigest() for k in kept
    )
    assert [k.kind for k in kept].count("update") == 1
    events = (await handle.fetch_history()).events
    signaled = next(e for e in events if e.HasField("workflow_execution_signaled_event_attributes"))
    [payload] = signaled.workflow_execution_signaled_event_attributes.input.payloads
    assert payload.metadata["encoding"] == b"binary/encrypted", "read through the worker's codec"
    scheduled = [
        e.activity_task_scheduled_event_attributes
        for e in events
        if e.HasField("activity_task_scheduled_event_attributes")
        and e.activity_task_scheduled_event_attributes.activity_type.name == "keep_whole_input"
    ]
    assert len(scheduled) == 11, "one per oversized input, none for the small ones"
    assert max(s.input.ByteSize() for s in scheduled) < 1000


@contextmanager
def _workers_before(*patches: str) -> Iterator[None]:
    """The workers of this process take none of `patches`, as workers built before them
    did: a run they start records no marker for them, and today's worker, replaying it,
    keeps it on the path without them."""
    real = workflow.patched

    def patched(patch_id: str) -> bool:
        return patch_id not in patches and real(patch_id)

    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(workflow, "patched", patched)
        yield


def _markers(events: Sequence[HistoryEvent]) -> list[str]:
    """The patch ids a history records (the SDK's markers are never encrypted)."""
    return [
        json.loads(marker.details["patch-data"].payloads[0].data)["id"]
        for marker in (e.marker_recorded_event_attributes for e in events)
        if marker.marker_name == "core_patch"
    ]


async def test_a_run_begun_before_bounded_input_is_not_wedged_by_megabytes(
    dev_server_env: WorkflowEnvironment,
    own: SystemsService,
    audit: AuditStore,
    inputs: InputStore,
) -> None:
    env = dev_server_env
    task_queue = f"q2c-hostile-old-{uuid.uuid4()}"
    with _workers_before(LEAN_RUN, BOUNDED_INPUT):
        async with worker_on(env, own, task_queue, audit=audit, inputs=inputs):
            handle = await _waiting_for_approval(env, own, task_queue, 4)
    begun = _markers((await handle.fetch_history()).events)
    assert LEAN_RUN not in begun and BOUNDED_INPUT not in begun, begun

    # Today's worker takes the run on: it replays the history, then gets megabytes.
    async with worker_on(env, own, task_queue, audit=audit, inputs=inputs):
        await handle.signal("approve", {"approver": "y" * BIG})
        for _ in range(3):  # three of 400 KB each, every one under the SDK's warning size
            await handle.signal("approve", {"approver": "w" * 400_000})
        for n in range(25):  # more refusals than a run keeps
            await handle.signal("reject", {"approver": f"stranger{n}@evil.example"})
        waiting = await until(handle, lambda s: s.refused_count == 29, within=60)
        assert waiting.state is RunState.AWAITING_APPROVAL
        assert len(waiting.refused) == 20, "the latest 20 are kept"
        assert _size(waiting) < SMALL_ENOUGH
        assert waiting.refused[-1].cause == (
            "reject by stranger24@evil.example: stranger24@evil.example is not an approver "
            "in the policy"
        )
        details = await _details(handle)
        assert "Refused attempts: 29" in details and len(details) < SMALL_ENOUGH
        shown = await _cli(env, "status", handle.id, "--json")
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["refused_count"] == 29

        # A valid decision with a megabyte comment posts and delivers the invoice.
        comment = "ok " + "c" * BIG
        await handle.execute_update(
            "decide",
            Decision(verdict="approve", approver=APPROVER, comment=comment),
            result_type=RunStatus,
        )
        result = await handle.result()
        assert result.state is RunState.DELIVERED, result.reason
        assert _size(result) < SMALL_ENOUGH
    # Still a run without `bounded-input`, and each oversized input is in the trail whole,
    # under a patch of its own.
    ended = _markers((await handle.fetch_history()).events)
    assert BOUNDED_INPUT not in ended and WHOLE_INPUT not in ended
    assert ended.count(WHOLE_INPUT_BEFORE_BOUNDED) == 1
    kept = inputs.read(handle.id)
    assert [(k.name, json.loads(k.data)) for k in kept] == [
        ("approve", {"approver": "y" * BIG}),
        ("approve", {"approver": "w" * 400_000}),
        ("decide", {"verdict": "approve", "approver": APPROVER, "comment": comment}),
    ]


def _scheduled(events: Sequence[HistoryEvent], activity_type: str) -> int:
    return sum(
        e.activity_task_scheduled_event_attributes.activity_type.name == activity_type
        for e in events
    )


def _completions(events: Sequence[HistoryEvent], activity_type: str) -> list[int]:
    """The ids of the events in which an activity of `activity_type` completed."""
    scheduled = {
        e.event_id
        for e in events
        if e.activity_task_scheduled_event_attributes.activity_type.name == activity_type
    }
    return [
        e.event_id
        for e in events
        if e.HasField("activity_task_completed_event_attributes")
        and e.activity_task_completed_event_attributes.scheduled_event_id in scheduled
    ]


def _one_task(events: Sequence[HistoryEvent], first: int, second: int) -> bool:
    """Whether one workflow task got both events (by id): none started between them."""
    return not any(
        e.HasField("workflow_task_started_event_attributes") and first < e.event_id < second
        for e in events
    )


async def _history_until(
    handle: Handle, check: Callable[[Sequence[HistoryEvent]], bool], what: str
) -> None:
    async def probe() -> bool:
        return check((await handle.fetch_history()).events)

    await eventually(probe, what=f"{handle.id}: {what}", within=60)


async def test_a_signal_in_the_task_in_which_the_run_ends_is_kept_whole(
    dev_server_env: WorkflowEnvironment,
    own: SystemsService,
    audit: AuditStore,
    inputs: InputStore,
) -> None:
    """Oversized signals in the task that brings the final decision, and in the run's last
    task, with the result of its last activity (the outcome's record): workflow and activity
    workers of the queue take turns, so each is sent while no worker can work on it yet."""
    env = dev_server_env
    task_queue = f"q2c-hostile-last-{uuid.uuid4()}"
    async with worker_on(env, own, task_queue, audit=audit, inputs=inputs):
        handle = await _waiting_for_approval(env, own, task_queue, 5)
    recorder = AuditActivities(recorder=audit, client=env.client, inputs=inputs)
    settings = Settings(task_queue=task_queue, systems_url=own.url, smtp_url=own.smtp_url)
    async with own.client() as http:  # the local steps' client: replayed, never called
        # The workflow worker runs the local steps (replayed from their markers) and no activity
        # of the queue; without a cache it asks for no sticky queue, so each task goes to the
        # queue, to whichever workflow worker polls it.
        workflows = partial(
            Worker, env.client, task_queue=task_queue, workflows=[QuoteToCashWorkflow],
            activities=activities_for(http=http, settings=settings), no_remote_activities=True,
            max_cached_workflows=0,
        )  # fmt: skip
        activities = partial(
            Worker, env.client, task_queue=task_queue,
            activities=[recorder.record_handoff, recorder.keep_whole_input],
        )  # fmt: skip
        recorded = "record_handoff"
        # The rejection and an oversized approval come in one task.
        early = {"approver": "early@q2c.example", "comment": "e" * BIG}
        await handle.signal("reject", {"approver": APPROVER, "comment": "not this month"})
        await handle.signal("approve", early)
        # The run records the decision, then its outcome, one task at a time.
        async with workflows():
            await _history_until(
                handle, lambda e: _scheduled(e, recorded) == 1, "decision's record"
            )
        async with activities():
            await _history_until(handle, lambda e: len(_completions(e, recorded)) == 1, "recorded")
        async with workflows():
            await _history_until(handle, lambda e: _scheduled(e, recorded) == 2, "outcome's record")
        async with activities():
            await _history_until(
                handle, lambda e: len(_completions(e, recorded)) == 2, "both recorded"
            )
            # The run's last task is due; the oversized signal joins it.
            late = {"approver": "late@q2c.example", "comment": "l" * BIG}
            await handle.signal("approve", late)
            async with workflows():
                result = await handle.result()
    assert result.state is RunState.REJECTED, result.reason
    assert [r.cause for r in result.refused] == [
        "approve by early@q2c.example: a decision was already recorded",
        "approve by late@q2c.example: the run is Rejected, not awaiting approval",
    ]
    events = (await handle.fetch_history()).events
    *_, reject, first, last = [
        e.event_id for e in events if e.HasField("workflow_execution_signaled_event_attributes")
    ]
    _, outcome = _completions(events, recorded)  # the decision's record, the outcome's
    assert _one_task(events, reject, first) and _one_task(events, outcome, last)
    assert [(k.name, json.loads(k.data)) for k in inputs.read(handle.id)] == [
        ("approve", early),
        ("approve", late),
    ]
