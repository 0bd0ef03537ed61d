"""Record the histories `tests/histories/` keeps: one per path through the workflow.

Each scenario runs on an embedded stack (dev server, systems, worker subprocess) and its
history is exported with `temporal workflow show --output json`, the same file an engineer
downloads, so the replay test reads exactly what `q2c replay` reads.
"""

import asyncio
import json
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from devstack.histories_overlap import record_activation_reset, record_fanout, record_overlaps
from devstack.run_waits import Handle, until, wait_for_state
from devstack.stack import DevStack, Ports, temporal_binary
from devstack.timeskip import time_skipping_worker
from schemas.approvals import Decision
from schemas.collection import (
    CollectionAnswer,
    DisputeNotice,
    DisputeResolution,
    PaymentNotice,
    RaiseDispute,
    RecordPayment,
)
from schemas.events import BillingCycleClosed, ContractAmended, ContractEvent
from schemas.revenue import RecognitionRunInput, RecognitionRunResult
from schemas.runs import RunState, RunStatus
from starters.events import activated, amended, cycle_closed, month
from starters.intake import run_handle, start_run
from workflows.revenue_recognition import RevenueRecognitionWorkflow

TASK_QUEUE = "q2c-histories"
OVERLAP = "overlap"
"""The scenario name of devstack/histories_overlap.py's four runs."""
ACTIVATION_RESET = "activation_reset"
"""The scenario name of an activation reset after it posted (devstack/histories_overlap.py)."""
FANOUT = "calendar_fanout"
"""The scenario name of one calendar fire's fan-out (devstack/histories_overlap.py)."""
APPROVER = "cfo@q2c.example"
# Approvers of the routing policy, highest limit first; large totals need two of them.
APPROVERS = (APPROVER, "controller@q2c.example", "ar.lead@q2c.example")


def _event(contract_id: str, number: int) -> BillingCycleClosed:
    return cycle_closed(
        contract_id, month(2026, number), event_id=f"evt-history-{contract_id}-2026-{number:02d}"
    )


def _amendment(contract_id: str, change: date, period_end: date) -> ContractAmended:
    return amended(contract_id, change, period_end, event_id=f"evt-history-{contract_id}-{change}")


def next_approver(status: RunStatus) -> str:
    """An approver who has not approved yet (a second approval must be another person)."""
    done = set(status.approval.approved_by) if status.approval else set()
    return next(a for a in APPROVERS if a not in done)


async def _approve_by_signal(handle: Handle) -> None:
    status = await wait_for_state(handle, RunState.AWAITING_APPROVAL)
    # A malformed decision first, as a person may type it: refused and recorded.
    await handle.signal("approve", {"approver": ""})
    for approver in APPROVERS:  # each at most once: a refused one is not asked again
        if status.state is not RunState.AWAITING_APPROVAL:
            return
        await handle.signal("approve", {"approver": approver, "comment": "checked the clause"})
        for _ in range(50):
            await asyncio.sleep(0.1)
            status = await handle.query("status", result_type=RunStatus)
            done = status.approval.approved_by if status.approval else []
            if status.state is not RunState.AWAITING_APPROVAL or approver in done:
                break


async def _reject_by_update(handle: Handle) -> None:
    await wait_for_state(handle, RunState.AWAITING_APPROVAL)
    decision = Decision(verdict="reject", approver=APPROVER, comment="clause not agreed")
    await handle.execute_update("decide", decision, result_type=RunStatus)


async def _nothing(handle: Handle) -> None:  # noqa: ARG001
    return None


async def _refuse_then_leave_waiting(handle: Handle) -> None:
    """A refused decision, a reminder, and still waiting: a run caught mid-wait by a deploy."""
    await wait_for_state(handle, RunState.AWAITING_APPROVAL)
    await handle.signal("approve", {"approver": "intruder@evil.example"})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = await handle.query("status", result_type=RunStatus)
        if status.refused and status.approval is not None and status.approval.reminded_at:
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{handle.id}: no refusal and reminder recorded")


async def _oversized_then_approve(handle: Handle) -> None:
    """Oversized and repeated refused decisions (kept cut, the latest twenty with a count),
    then an approval whose long comment is kept cut (the `bounded-input` patch)."""
    await wait_for_state(handle, RunState.AWAITING_APPROVAL)
    await handle.signal("approve", {"approver": "y" * 100_000})
    for n in range(24):
        await handle.signal("approve", {"approver": f"stranger{n}@evil.example"})
    await until(handle, lambda s: s.refused_count == 25, "25 refusals")
    decision = Decision(verdict="approve", approver=APPROVER, comment="ok " + "c" * 50_000)
    await handle.execute_update("decide", decision, result_type=RunStatus)


async def _oversized_whole_then_approve(handle: Handle) -> None:
    """An oversized refused approval and an approval with a long comment, each kept cut
    and written whole to the audit trail by `keep_whole_input` (the `whole-input` patch),
    between them a small refusal, which schedules nothing."""
    await wait_for_state(handle, RunState.AWAITING_APPROVAL)
    await handle.signal("approve", {"approver": "y" * 100_000})
    await handle.signal("approve", {"approver": "stranger@evil.example"})
    await until(handle, lambda s: s.refused_count == 2, "2 refusals")
    decision = Decision(verdict="approve", approver=APPROVER, comment="ok " + "c" * 50_000)
    await handle.execute_update("decide", decision, result_type=RunStatus)


@dataclass(frozen=True, kw_only=True)
class Scenario:
    name: str
    event: ContractEvent
    expected: RunState
    drive: Callable[[Handle], Awaitable[None]] = _nothing
    approval_timeout_seconds: int = 3600
    reminder_seconds: int | None = None
    settles: bool = True
    """False: the history is exported while the run waits in `expected`, as a deploy finds it."""


def _collecting(status: RunStatus) -> bool:
    return status.collection is not None and status.state.collecting


async def _past_first_reminder(env: WorkflowEnvironment, handle: Handle) -> None:
    """Unpaid past its due date: the first reminder went out; the next levels wait."""
    status = await until(handle, _collecting, "collecting")
    assert status.collection is not None
    await env.sleep(status.collection.due_at - await env.get_current_time() + timedelta(days=2))
    await until(
        handle,
        lambda s: s.collection is not None and "reminder" in s.collection.fired,
        "the first reminder",
    )


async def _past_first_decline(env: WorkflowEnvironment, handle: Handle) -> None:
    """The card declined on the due date; the retry waits for its day."""
    status = await until(handle, _collecting, "collecting")
    assert status.collection is not None
    await env.sleep(status.collection.due_at - await env.get_current_time() + timedelta(hours=1))
    await until(
        handle,
        lambda s: s.collection is not None and s.collection.card_attempts == 1,
        "the first charge",
    )


async def _disputed(env: WorkflowEnvironment, handle: Handle) -> None:  # noqa: ARG001
    """Disputed before its due date: dunning paused until the dispute is resolved."""
    await until(handle, _collecting, "collecting")
    notice = DisputeNotice(reason="seats not used", by="ar@customer.example")
    await handle.execute_update("dispute", RaiseDispute(notice), result_type=CollectionAnswer)
    await until(handle, lambda s: s.state is RunState.DISPUTED, "the dispute")


async def _dispute_credited(env: WorkflowEnvironment, handle: Handle) -> None:  # noqa: ARG001
    """Disputed, then credited in part: the credit note posted, applied to the invoice in the
    ERP and delivered; the rest waits for payment."""
    await _disputed(env, handle)
    resolution = DisputeResolution(
        outcome="credited", credit_amount=Decimal("10.00"), by="controller@q2c.example"
    )
    await handle.execute_update("resolve_dispute", resolution, result_type=CollectionAnswer)
    await until(handle, lambda s: s.state is RunState.PARTIALLY_PAID, "the credit")


async def _payment_refunded(env: WorkflowEnvironment, handle: Handle) -> None:  # noqa: ARG001
    """Paid in part by transfer, then part of that refunded by the provider (posted to the
    ERP): the rest waits for payment."""
    status = await until(handle, _collecting, "collecting")
    payment = PaymentNotice(
        amount=Decimal("30.00"), currency=status.currency, reference="BANK-HISTORY-1"
    )
    await handle.execute_update(
        "record_payment", RecordPayment(payment), result_type=CollectionAnswer
    )
    refund = RecordPayment.model_validate(
        {
            "type": "payment.refunded",
            "schema_version": 2,
            "event_id": "evt-history-refund-1",
            "occurred_at": "2026-11-12T10:00:00Z",
            "posting_key": handle.id,
            "payment_id": "BANK-HISTORY-1",
            "refund_id": "re_history_1",
            "amount": {"amount": "10.00", "currency": status.currency},
        }
    )
    await handle.execute_update("record_payment", refund, result_type=CollectionAnswer)
    await until(
        handle,
        lambda s: (
            s.collection is not None and any(e.kind == "refund" for e in s.collection.entries)
        ),
        "the refund",
    )


async def _charge_processing(env: WorkflowEnvironment, handle: Handle) -> None:
    """Charged on the due date, the provider still processing it: asked about again daily."""
    status = await until(handle, _collecting, "collecting")
    assert status.collection is not None
    await env.sleep(status.collection.due_at - await env.get_current_time() + timedelta(days=2))
    await until(
        handle,
        lambda s: s.collection is not None and bool(s.collection.processing),
        "the processing charge",
    )


@dataclass(frozen=True, kw_only=True)
class CollectingScenario:
    """A run caught mid-collection, days after posting: recorded on the time-skipping server
    (the production worker, the same systems), exported while it waits."""

    name: str
    event: ContractEvent
    expected: RunState
    drive: Callable[[WorkflowEnvironment, Handle], Awaitable[None]]
    processing_seconds: dict[str, int] = field(default_factory=dict)
    """Customers whose payment methods settle this long after a charge, set before the run."""


COLLECTING: Sequence[CollectingScenario] = (
    CollectingScenario(  # CU-1008 pays by bank transfer
        name="dunning_reminded",
        event=_event("C-1008", 10),
        expected=RunState.OVERDUE,
        drive=_past_first_reminder,
    ),
    CollectingScenario(  # CU-1003's card is seeded to decline twice
        name="card_declined",
        event=_event("C-1003", 10),
        expected=RunState.OVERDUE,
        drive=_past_first_decline,
    ),
    CollectingScenario(
        name="disputed",
        event=_event("C-1005", 10),
        expected=RunState.DISPUTED,
        drive=_disputed,
    ),
    CollectingScenario(
        name="dispute_credited",
        event=_event("C-1005", 9),
        expected=RunState.PARTIALLY_PAID,
        drive=_dispute_credited,
    ),
    CollectingScenario(  # CU-1007 pays by bank transfer
        name="payment_refunded",
        event=_event("C-1007", 10),
        expected=RunState.PARTIALLY_PAID,
        drive=_payment_refunded,
    ),
    CollectingScenario(  # CU-1012's card, made to settle a day after each charge
        name="charge_processing",
        event=_event("C-1012", 10),
        expected=RunState.OVERDUE,
        drive=_charge_processing,
        processing_seconds={"CU-1012": 86_400},
    ),
)


SCENARIOS: Sequence[Scenario] = (
    Scenario(name="straight_through", event=_event("C-1001", 10), expected=RunState.DELIVERED),
    Scenario(
        name="approval_approved",
        event=_event("C-1009", 10),
        expected=RunState.DELIVERED,
        drive=_approve_by_signal,
    ),
    Scenario(
        name="approval_rejected",
        event=_event("C-1009", 9),
        expected=RunState.REJECTED,
        drive=_reject_by_update,
    ),
    Scenario(
        name="approval_expired",
        event=_event("C-1009", 8),
        expected=RunState.NEEDS_ATTENTION,
        approval_timeout_seconds=2,
    ),
    Scenario(name="needs_attention", event=_event("C-1010", 10), expected=RunState.NEEDS_ATTENTION),
    Scenario(
        name="amendment",
        event=_amendment("C-1016", date(2026, 10, 16), date(2026, 11, 1)),
        expected=RunState.DELIVERED,
    ),
    # C-1017 (docs/calendar.md), in this order: the activation posts first, and the change
    # and the close inside the first quarter find it in the ERP.
    Scenario(
        name="activation",
        event=activated(
            "C-1017", date(2026, 8, 17), date(2026, 10, 1), event_id="evt-history-C-1017-activation"
        ),
        expected=RunState.DELIVERED,
    ),
    Scenario(
        name="first_period_amendment",
        event=_amendment("C-1017", date(2026, 9, 1), date(2026, 10, 1)),
        expected=RunState.DELIVERED,
    ),
    Scenario(
        name="first_close_after_activation",
        event=cycle_closed(
            "C-1017",
            (date(2026, 7, 1), date(2026, 10, 1)),
            event_id="evt-history-C-1017-2026-q3",
        ),
        expected=RunState.DELIVERED,
    ),
    Scenario(  # the credit note reverses what the invoice it credits has left to recognise
        name="revenue_credits/amendment",
        event=_amendment("C-1016", date(2026, 10, 16), date(2026, 11, 1)),
        expected=RunState.DELIVERED,
    ),
    Scenario(
        name="awaiting_approval",
        event=_event("C-1009", 7),
        expected=RunState.AWAITING_APPROVAL,
        drive=_refuse_then_leave_waiting,
        reminder_seconds=1,
        settles=False,
    ),
    Scenario(
        name="hostile_input",
        event=_event("C-1009", 6),
        expected=RunState.DELIVERED,
        drive=_oversized_then_approve,
    ),
    Scenario(
        name="whole_input/oversized_approval",
        event=_event("C-1009", 5),
        expected=RunState.DELIVERED,
        drive=_oversized_whole_then_approve,
    ),
)


@dataclass(frozen=True, kw_only=True)
class RecognitionScenario:
    """A monthly revenue recognition run, after a billing run posted a deferral for it."""

    name: str
    billed: ContractEvent
    """A billing run whose deferred revenue the recognition releases."""
    month: str
    closed: tuple[str, ...] = ()
    """Months closed in the ERP first: the entry moves to the next open one."""


RECOGNITION: Sequence[RecognitionScenario] = (
    # C-1002's October close bills November's platform fee in advance, deferred; November
    # is closed, so its entry is booked in December with the reason.
    RecognitionScenario(
        name="revenue_recognition/closed_month",
        billed=_event("C-1002", 10),
        month="2026-11",
        closed=("2026-11",),
    ),
)


async def _record_recognition(
    client: Client, stack: DevStack, scenario: RecognitionScenario, out: Path
) -> Path:
    outcome = await start_run(client, scenario.billed, task_queue=TASK_QUEUE, collect=False)
    billed: Handle = run_handle(client, outcome.workflow_id)
    status = await asyncio.wait_for(billed.result(), 180)
    if status.state is not RunState.DELIVERED:
        raise RuntimeError(f"{scenario.name}: the billing run ended {status.state.value}")
    async with stack.systems_client() as http:
        for month_closed in scenario.closed:
            (await http.post(f"/erp/periods/{month_closed}/close")).raise_for_status()
    workflow_id = f"q2c:revenue-recognition:history-{scenario.month}"
    result: RecognitionRunResult = await client.execute_workflow(
        RevenueRecognitionWorkflow.run,
        RecognitionRunInput(month=scenario.month),
        id=workflow_id,
        task_queue=TASK_QUEUE,
    )
    if not result.postings or not all(p.erp_document_id for p in result.postings):
        raise RuntimeError(f"{scenario.name}: nothing was recognised: {result}")
    path = out / f"{scenario.name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    history = export_history(stack, workflow_id)
    path.write_text(json.dumps(history, indent=1, sort_keys=True) + "\n")
    return path


VERSIONED_DEPLOYMENT = "q2c-histories"
VERSIONED_BUILD = "histories-1"

VERSIONED: Sequence[Scenario] = (
    Scenario(  # on a versioned worker: the run follows the current build before it waits
        name="versioned/approval_approved",
        event=_event("C-1009", 6),
        expected=RunState.DELIVERED,
        drive=_approve_by_signal,
    ),
)
"""Recorded on a worker with Q2C_DEPLOYMENT_NAME and Q2C_BUILD_ID, alone on its own server."""


def export_history(stack: DevStack, workflow_id: str) -> dict[str, object]:
    """The history as `temporal workflow show --output json` prints it."""
    completed = subprocess.run(
        [
            str(temporal_binary()),
            "workflow",
            "show",
            "--address",
            stack.temporal_address,
            "--workflow-id",
            workflow_id,
            "--output",
            "json",
        ],  # fmt: skip
        check=True,
        capture_output=True,
        text=True,
    )
    exported: dict[str, object] = json.loads(completed.stdout)
    return exported


async def _record_one(client: Client, stack: DevStack, scenario: Scenario, out: Path) -> Path:
    outcome = await start_run(
        client,
        scenario.event,
        task_queue=TASK_QUEUE,
        approval_timeout_seconds=scenario.approval_timeout_seconds,
        reminder_seconds=scenario.reminder_seconds,
        collect=False,  # these paths end at posting; COLLECTING records the cash phase
    )
    handle: Handle = run_handle(client, outcome.workflow_id)
    await scenario.drive(handle)
    if scenario.settles:
        result = await asyncio.wait_for(handle.result(), 180)
    else:
        result = await wait_for_state(handle, scenario.expected)
    if result.state is not scenario.expected:
        raise RuntimeError(
            f"{scenario.name}: ended {result.state.value}, expected {scenario.expected.value}"
            f" ({result.reason_code}: {result.reason})"
        )
    path = out / f"{scenario.name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    history = export_history(stack, outcome.workflow_id)
    path.write_text(json.dumps(history, indent=1, sort_keys=True) + "\n")
    return path


async def _record_collecting(
    stack: DevStack, scenarios: Sequence[CollectingScenario], out: Path, folder: Path
) -> list[Path]:
    paths: list[Path] = []
    async with time_skipping_worker(
        systems_url=stack.systems_url,
        systems_token=stack.token,
        smtp_url=f"smtp://127.0.0.1:{stack.ports.outbox}?starttls=off",
        folder=folder,
    ) as skipping:
        client = skipping.env.client
        for scenario in scenarios:
            await _set_processing(stack, scenario.processing_seconds)
            outcome = await start_run(client, scenario.event, task_queue=skipping.task_queue)
            handle: Handle = run_handle(client, outcome.workflow_id)
            await scenario.drive(skipping.env, handle)
            status = await handle.query("status", result_type=RunStatus)
            if status.state is not scenario.expected:
                raise RuntimeError(
                    f"{scenario.name}: {status.state.value}, expected {scenario.expected.value}"
                )
            history = await handle.fetch_history()
            path = out / f"{scenario.name}.json"
            exported = json.loads(history.to_json())
            path.write_text(json.dumps(exported, indent=1, sort_keys=True) + "\n")
            paths.append(path)
    return paths


async def _set_processing(stack: DevStack, seconds: dict[str, int]) -> None:
    async with stack.systems_client() as http:
        for customer, settle_after in seconds.items():
            response = await http.get(f"/payments/customers/{customer}/payment_methods")
            response.raise_for_status()
            for method in response.json():
                method.pop("object", None)
                method["processing_seconds"] = settle_after
                put = await http.put(f"/payments/payment_methods/{method['id']}", json=method)
                put.raise_for_status()


async def _record_versioned(scenarios: Sequence[Scenario], out: Path, folder: Path) -> list[Path]:
    from ops.deploy import set_current

    stack = DevStack(
        home=folder,
        ports=Ports.random(),
        extra_env={
            "Q2C_TASK_QUEUE": TASK_QUEUE,
            "Q2C_DEPLOYMENT_NAME": VERSIONED_DEPLOYMENT,
            "Q2C_BUILD_ID": VERSIONED_BUILD,
        },
    )
    await asyncio.to_thread(stack.start)
    try:
        client = await stack.connect()
        await set_current(client, VERSIONED_DEPLOYMENT, VERSIONED_BUILD, within=60)
        return [await _record_one(client, stack, s, out) for s in scenarios]
    finally:
        await asyncio.to_thread(stack.stop)


async def record(*, out: Path, names: Sequence[str] = (), home: Path | None = None) -> list[Path]:
    """Run the chosen scenarios (all by default) and write `<out>/<scenario>.json`."""
    chosen = [s for s in SCENARIOS if not names or s.name in names]
    collecting = [s for s in COLLECTING if not names or s.name in names]
    versioned = [s for s in VERSIONED if not names or s.name in names]
    recognition = [s for s in RECOGNITION if not names or s.name in names]
    overlap = not names or OVERLAP in names
    fanout = not names or FANOUT in names
    activation_reset = not names or ACTIVATION_RESET in names
    known = {s.name for s in (*SCENARIOS, *VERSIONED)} | {s.name for s in COLLECTING}
    known |= {s.name for s in RECOGNITION}
    known |= {OVERLAP, FANOUT, ACTIVATION_RESET}
    unknown = set(names) - known
    if unknown:
        raise ValueError(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="q2c-histories-") as scratch:
        if chosen or collecting or recognition or overlap or fanout or activation_reset:
            stack = DevStack(
                home=home or Path(scratch),
                ports=Ports.random(),
                extra_env={"Q2C_TASK_QUEUE": TASK_QUEUE},
            )
            await asyncio.to_thread(stack.start)
            try:
                client = await stack.connect()
                paths += [await _record_one(client, stack, s, out) for s in chosen]
                paths += [await _record_recognition(client, stack, s, out) for s in recognition]
                if collecting:
                    paths += await _record_collecting(stack, collecting, out, Path(scratch))
                if overlap:
                    (Path(scratch) / OVERLAP).mkdir()
                    paths += await record_overlaps(stack, out, Path(scratch) / OVERLAP)
                if activation_reset:
                    paths += await record_activation_reset(stack, client, TASK_QUEUE, out)
                if fanout:
                    (Path(scratch) / FANOUT).mkdir()
                    paths += await record_fanout(stack, out, Path(scratch) / FANOUT)
            finally:
                await asyncio.to_thread(stack.stop)
        if versioned:
            paths += await _record_versioned(versioned, out, Path(scratch) / "versioned")
    return paths
