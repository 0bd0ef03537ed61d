"""Chaos: fire runs on the embedded stack while faults hit it, then prove exactly-once.

Faults: the ERP fails, throttles and drops responses after committing (the systems' fault
rules); the worker is killed with SIGKILL at random moments and started again; the Temporal
dev server is stopped and started again on the same SQLite file; posted runs are reset to
their first workflow task, as an engineer resets them, and run again. Afterwards the ERP is
read back: every run posted exactly once, each posting equal to its run's invoice, debits
equal credits; and the report from the audit trail counts each run once. Any loss,
duplicate, mismatch or miscount is a finding.

With `collect` (the default) the runs go on into collection and are paid under faults of the
payment provider too; the provider and the ERP's cash postings are then read back as well:
no double charge, no double application, every run paid (devstack/chaos_cash.py).
"""

import asyncio
import random
import signal
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal, get_args

import httpx
from temporalio.client import (
    Client,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError

from activities.erp import compare_posting
from devstack import chaos_cash
from devstack.chaos_keys import CONTRACTS, MAX_RUNS, MONTHS
from devstack.chaos_replay import histories_not_replayed
from devstack.chaos_revenue import recognise_under_faults, revenue_findings
from devstack.histories import next_approver
from devstack.pollers import wait_for_pollers
from devstack.resets import reset_run
from devstack.stack import DevStack, Ports, port_in_use
from ops.report.build import load
from schemas.approvals import Decision
from schemas.events import BillingCycleClosed
from schemas.journal import Posting
from schemas.runs import RunState, RunStatus
from schemas.steps import ReconcileInput
from starters.events import cycle_closed, month
from starters.intake import run_handle, start_run
from workers.telemetry import quiet_runtime

TASK_QUEUE = "q2c-chaos"

FindingKind = Literal[
    "not_posted",
    "missing",
    "duplicate",
    "mismatch",
    "unbalanced",
    "unexpected",
    "miscounted",
    "double_charge",
    "double_application",
    "cash_mismatch",
    "not_paid",
    "revenue",
    "nondeterminism",
]
FINDING_KINDS: tuple[FindingKind, ...] = get_args(FindingKind)

POSTED_STATES = frozenset({RunState.POSTED, RunState.DELIVERED, RunState.PAID})
"""A run that posted: delivered since the delivery phase, `Posted` before it, `Paid` when it
went on to collect its money."""


@dataclass(frozen=True, kw_only=True)
class ChaosPlan:
    runs: int = 12
    kill_worker: int = 1
    restart_server: int = 1
    erp_fault_rate: float = 0.2
    latency_ms: int = 0
    payments_fault_rate: float = 0.2
    collect: bool = True
    seed: int = 7
    timeout: float = 180.0
    reset: int = 0
    """Posted runs reset to their first workflow task while the faults are on."""
    retry_cap: float | None = None
    """At most this many seconds between tries of a failed call (the worker's
    Q2C_RETRY_DELAY_CAP_SECONDS); None: the runs' own backoff, up to 60 s."""

    def __post_init__(self) -> None:
        if not 1 <= self.runs <= MAX_RUNS:
            raise ValueError(f"runs: must be between 1 and {MAX_RUNS} (one per business key)")
        if self.kill_worker < 0 or self.restart_server < 0:
            raise ValueError("kill_worker, restart_server: must not be negative")
        if not 0 <= self.reset <= self.runs:
            raise ValueError(f"reset: must be between 0 and the runs ({self.runs})")
        if not 0 <= self.erp_fault_rate <= 1:
            raise ValueError("erp_fault_rate: must be between 0 and 1")
        if not 0 <= self.payments_fault_rate <= 1:
            raise ValueError("payments_fault_rate: must be between 0 and 1")
        if self.latency_ms < 0:
            raise ValueError("latency_ms: must not be negative")
        if self.retry_cap is not None and not self.retry_cap > 0:
            raise ValueError("retry_cap: must be positive")

    def worker_env(self) -> dict[str, str]:
        env = {"Q2C_TASK_QUEUE": TASK_QUEUE}
        if self.retry_cap is not None:
            env["Q2C_RETRY_DELAY_CAP_SECONDS"] = str(self.retry_cap)
        return env

    def fault_rule(self) -> dict[str, object]:
        """Half the rate fails with 500, half throttles with Retry-After; every write the
        rate lets through may still lose its response after the ERP committed."""
        return {
            "system": "erp",
            "error_rate": self.erp_fault_rate / 2,
            "throttle_rate": self.erp_fault_rate / 2,
            "retry_after_seconds": 1,
            "drop_response_rate": self.erp_fault_rate,
            "latency_ms": self.latency_ms,
            "seed": self.seed,
        }

    def payments_rule(self) -> dict[str, object]:
        """The provider fails, throttles and charges without answering, like the ERP."""
        return {
            "system": "payments",
            "error_rate": self.payments_fault_rate / 2,
            "throttle_rate": self.payments_fault_rate / 2,
            "retry_after_seconds": 1,
            "drop_response_rate": self.payments_fault_rate,
            "seed": self.seed + 1,
        }


@dataclass(frozen=True, kw_only=True)
class Action:
    at: float
    what: str


@dataclass(frozen=True, kw_only=True)
class Finding:
    kind: FindingKind
    key: str
    detail: str


@dataclass(kw_only=True)
class ChaosReport:
    plan: ChaosPlan
    actions: list[Action] = field(default_factory=list)
    runs: int = 0
    posted: int = 0
    postings: int = 0
    reset: int = 0
    report_runs: int = 0
    report_posted: int = 0
    paid: int = 0
    charges: int = 0
    cash_postings: int = 0
    revenue_entries: int = 0
    """Monthly recognition entries booked (the run killed once, then run again)."""
    replayed: int = 0
    """Histories replayed with today's code at the end: every run, a reset's old run too."""
    debits: Decimal = Decimal(0)
    credits: Decimal = Decimal(0)
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_json(self) -> dict[str, object]:
        data = asdict(self)
        data["debits"], data["credits"] = str(self.debits), str(self.credits)
        data["ok"] = self.ok
        return data


def chaos_events(runs: int) -> list[BillingCycleClosed]:
    """Distinct business keys: month after month, every straight-through contract."""
    events = [
        cycle_closed(
            contract,
            month(2026, number),
            event_id=f"evt-chaos-{contract}-2026-{number:02d}",
            occurred_at=datetime(2026, 12, 31, tzinfo=UTC),
        )
        for number in MONTHS
        for contract in CONTRACTS
    ]
    return events[:runs]


def check(
    *,
    runs: Mapping[str, RunStatus | None],
    postings: Sequence[Posting],
    debits: Decimal,
    credits: Decimal,
) -> list[Finding]:
    """Every run posted once, as invoiced; nothing posted that no run asked for."""
    findings: list[Finding] = []
    by_key: dict[str, list[Posting]] = defaultdict(list)
    by_invoice: dict[str, list[Posting]] = defaultdict(list)
    for posting in postings:
        by_key[posting.posting_key].append(posting)
        by_invoice[posting.invoice.invoice_id].append(posting)
    for workflow_id, status in runs.items():
        if status is None or status.state not in POSTED_STATES:
            state = "did not settle" if status is None else status.state.value
            reason = f" ({status.reason_code}: {status.reason})" if status and status.reason else ""
            findings.append(Finding(kind="not_posted", key=workflow_id, detail=state + reason))
        # Under its key or, worse, as the same invoice under another key.
        found = {id(p): p for p in by_key.get(workflow_id, [])}
        document = status.document("invoice") if status is not None else None
        if document is not None:
            found.update({id(p): p for p in by_invoice.get(document.invoice.invoice_id, [])})
        matched = list(found.values())
        if not matched:
            if status is not None and status.state in POSTED_STATES:
                findings.append(
                    Finding(kind="missing", key=workflow_id, detail="the ERP has no posting")
                )
            continue
        if len(matched) > 1:
            documents = ", ".join(sorted(f"{p.erp_document_id} ({p.posting_key})" for p in matched))
            findings.append(
                Finding(
                    kind="duplicate",
                    key=workflow_id,
                    detail=f"posted {len(matched)} times: " + documents,
                )
            )
            continue
        posting = matched[0]
        if document is None:
            continue
        compared = compare_posting(
            expected=ReconcileInput.of(workflow_id, document.invoice),
            posting=posting,
        )
        differences = [f"{d.field}: run {d.expected}, ERP {d.found}" for d in compared.differences]
        if posting.posting_key != workflow_id:
            differences.append(f"posting_key: run {workflow_id}, ERP {posting.posting_key}")
        if document.erp_document_id and document.erp_document_id != posting.erp_document_id:
            differences.append(
                f"erp_document_id: run {document.erp_document_id}, ERP {posting.erp_document_id}"
            )
        if differences:
            findings.append(
                Finding(kind="mismatch", key=workflow_id, detail="; ".join(differences))
            )
    invoices = {d.invoice.invoice_id for s in runs.values() if s is not None for d in s.documents}
    for key, extra in by_key.items():
        if key not in runs and not any(p.invoice.invoice_id in invoices for p in extra):
            findings.append(
                Finding(kind="unexpected", key=key, detail="posted, but no run asked for it")
            )
    if debits != credits:
        findings.append(
            Finding(
                kind="unbalanced", key="journal", detail=f"debits {debits} != credits {credits}"
            )
        )
    return findings


class _Stack:
    """The embedded stack, with the two restarts chaos needs and a log of what it did."""

    def __init__(self, stack: DevStack, *, started: float) -> None:
        self.stack = stack
        self.started = started
        self.actions: list[Action] = []

    def record(self, what: str) -> None:
        self.actions.append(Action(at=round(time.monotonic() - self.started, 2), what=what))

    async def kill_worker(self, rng: random.Random) -> None:
        await asyncio.to_thread(self.stack.stop_process, "worker", sig=signal.SIGKILL)
        self.record("worker killed (SIGKILL)")
        await asyncio.sleep(rng.uniform(0.2, 1.5))
        self.stack.start_worker()
        self.record("worker started")

    async def supervise(self) -> None:
        """Start a part again when it exits on its own, as a process supervisor would: a
        worker that starts while the server is down exits (it cannot connect), and the dev
        server can lose its shard under heavy load."""
        while True:
            await asyncio.sleep(0.5)
            alive = self.stack.alive()
            if alive.get("worker") is False:
                self.record("worker exited on its own; supervisor started it again")
                self.stack.start_worker()
            if alive.get("temporal") is False:
                self.record("Temporal dev server exited on its own; supervisor restarts it")
                await self.restart_server()

    async def restart_server(self, timeout: float = 60.0) -> None:
        await asyncio.to_thread(self.stack.stop_process, "temporal")
        self.record("Temporal dev server stopped")
        self.stack.start_server()
        deadline = time.monotonic() + timeout
        while not port_in_use(self.stack.ports.temporal):
            if time.monotonic() > deadline:
                raise RuntimeError("the Temporal dev server did not come back")
            await asyncio.sleep(0.2)
        self.record("Temporal dev server started on the same SQLite file")


async def _result(client: Client, workflow_id: str, deadline: float) -> RunStatus | None:
    """The run's result, through server restarts; approves a run that waits for a person,
    and pays one that waits for a bank transfer. None when it does not settle in time, or
    when its workflow fails to answer (the replay check afterwards says why)."""
    handle = run_handle(client, workflow_id)
    while time.monotonic() < deadline:
        try:
            try:
                status: RunStatus = await handle.query("status", result_type=RunStatus)
            except WorkflowQueryFailedError:
                # The worker answered and the workflow code failed: asking again replays
                # the same history into the same failure.
                return None
            if status.state is RunState.AWAITING_APPROVAL:
                decision = Decision(
                    verdict="approve", approver=next_approver(status), comment="chaos run"
                )
                await handle.execute_update("decide", decision, result_type=RunStatus)
            if status.state.collecting:
                await chaos_cash.pay_by_transfer(handle, status)
            if status.state.settled:
                return await handle.result()
        except (
            RPCError,
            RuntimeError,
            WorkflowUpdateFailedError,
            WorkflowUpdateRPCTimeoutOrCancelledError,
        ):
            pass  # server restarting, worker gone, or the decision refused: ask again
        await asyncio.sleep(1.0)
    return None


async def _faults(stack: _Stack, plan: ChaosPlan, rng: random.Random) -> None:
    faults = ["kill_worker"] * plan.kill_worker + ["restart_server"] * plan.restart_server
    rng.shuffle(faults)
    for fault in faults:
        await asyncio.sleep(rng.uniform(0.5, 3.0))
        if fault == "kill_worker":
            await stack.kill_worker(rng)
        else:
            await stack.restart_server()


async def _reset_posted(
    chaos: _Stack,
    client: Client,
    statuses: dict[str, RunStatus | None],
    plan: ChaosPlan,
    deadline: float,
) -> list[str]:
    """Reset `plan.reset` posted runs to their first workflow task, under the faults still
    on, and wait for them again: each posts (the same key), delivers and ends as before."""
    posted = [i for i, s in statuses.items() if s is not None and s.state in POSTED_STATES]
    chosen = posted[: plan.reset]
    for workflow_id in chosen:
        await reset_run(client, workflow_id, to="first", reason="q2c chaos --reset")
        chaos.record(f"reset {workflow_id} to its first workflow task")
    again = await asyncio.gather(
        *(_result(client, i, max(deadline, time.monotonic() + 60)) for i in chosen)
    )
    statuses.update(zip(chosen, again, strict=True))
    if chosen:
        chaos.record(f"{sum(1 for s in again if s is not None)} reset run(s) settled again")
    return chosen


def count_check(
    runs: Mapping[str, RunStatus | None], *, counted_runs: int, counted_posted: int
) -> list[Finding]:
    """The report from the audit trail counts each run once (a reset one too), and each
    posted run once as posted."""
    posted = sum(1 for s in runs.values() if s is not None and s.state in POSTED_STATES)
    findings = []
    for name, counted, want in (
        ("runs", counted_runs, len(runs)),
        ("posted", counted_posted, posted),
    ):
        if counted != want:
            findings.append(
                Finding(
                    kind="miscounted", key=f"report.{name}", detail=f"{counted}, expected {want}"
                )
            )
    return findings


async def _read_erp(http: httpx.AsyncClient) -> tuple[list[Posting], Decimal, Decimal]:
    postings: list[Posting] = []
    for contract in CONTRACTS:
        response = await http.get("/erp/postings", params={"contract_id": contract, "limit": 1000})
        response.raise_for_status()
        postings += [Posting.model_validate(p) for p in response.json()]
    totals = (await http.get("/erp/journal/totals")).raise_for_status().json()
    return postings, Decimal(totals["debits"]), Decimal(totals["credits"])


async def run_chaos(plan: ChaosPlan, *, home: Path) -> ChaosReport:
    rng = random.Random(plan.seed)
    started = time.monotonic()
    report = ChaosReport(plan=plan)
    stack = DevStack(home=home, ports=Ports.random(), extra_env=plan.worker_env())
    await asyncio.to_thread(stack.start)
    chaos = _Stack(stack, started=started)
    try:
        async with stack.systems_client() as http:
            if plan.collect:
                charged = await chaos_cash.prepare(http, CONTRACTS)
                chaos.record(f"net-0 terms, paying cards: {', '.join(charged)}")
                rule = plan.payments_rule()
                (await http.put("/admin/faults", json=rule)).raise_for_status()
                chaos.record(f"payment provider faults on: {rule}")
            (await http.put("/admin/faults", json=plan.fault_rule())).raise_for_status()
            chaos.record(f"ERP faults on: {plan.fault_rule()}")
            # The server restarts on purpose: its retried calls are not worth a warning each.
            client = await stack.connect(runtime=quiet_runtime())
            # Up to delivery, or on to cash: the exactly-once check reads finished runs.
            ids = [
                (
                    await start_run(client, event, task_queue=TASK_QUEUE, collect=plan.collect)
                ).workflow_id
                for event in chaos_events(plan.runs)
            ]
            chaos.record(f"{len(ids)} runs started")
            # Faults are only worth injecting once a worker polls (its start is slow under load).
            await wait_for_pollers(client, TASK_QUEUE, timeout=120)
            chaos.record("worker polling")
            deadline = started + plan.timeout
            waiting = asyncio.gather(*(_result(client, i, deadline) for i in ids))
            supervisor = asyncio.create_task(chaos.supervise())
            try:
                await _faults(chaos, plan, rng)
                statuses = dict(zip(ids, await waiting, strict=True))
            finally:
                supervisor.cancel()
            chaos.record("every run settled" if all(statuses.values()) else "timed out")
            reset = await _reset_posted(chaos, client, statuses, plan, deadline)
            revenue = await recognise_under_faults(
                client=client,
                http=http,
                task_queue=TASK_QUEUE,
                kill_worker=chaos.kill_worker if plan.kill_worker else None,
                rng=rng,
                deadline=time.monotonic() + 300,
                record=chaos.record,
            )
            (await http.delete("/admin/faults")).raise_for_status()
            postings, report.debits, report.credits = await _read_erp(http)
            customers = [s.customer_id for s in statuses.values() if s and s.customer_id]
            intents, cash = await chaos_cash.read_cash(http, customers)
            report.replayed, not_replayed = await histories_not_replayed(
                client,
                task_queue=TASK_QUEUE,
                folder=home / "not-replayed",
                converter=stack.data_converter(),
            )
    finally:
        await asyncio.to_thread(stack.stop)
    report.actions = chaos.actions
    report.runs = len(ids)
    report.posted = sum(1 for s in statuses.values() if s and s.state in POSTED_STATES)
    report.postings = len(postings)
    report.reset = len(reset)
    report.findings = check(
        runs=statuses, postings=postings, debits=report.debits, credits=report.credits
    )
    figures = load(url=stack.settings().audit_url)
    report.report_runs, report.report_posted = figures.runs, figures.posted
    report.findings += count_check(
        statuses, counted_runs=figures.runs, counted_posted=figures.posted
    )
    report.paid = sum(1 for s in statuses.values() if s and s.state is RunState.PAID)
    report.charges = sum(1 for i in intents if i.status == "succeeded")
    report.cash_postings = len(cash)
    report.findings += [
        Finding(kind=kind, key=key, detail=detail)  # type: ignore[arg-type]
        for kind, key, detail in chaos_cash.check_cash(
            runs=statuses, intents=intents, postings=cash
        )
    ]
    if revenue is not None:
        report.revenue_entries = len(revenue.booked)
        report.findings += [
            Finding(kind="revenue", key=key, detail=detail)
            for key, detail in revenue_findings(revenue)
        ]
    report.findings += [
        Finding(
            kind="nondeterminism",
            key=f"{failure.workflow_id}/{failure.run_id}",
            detail=f"{failure.detail} (history kept in {failure.kept})",
        )
        for failure in not_replayed
    ]
    report.seconds = round(time.monotonic() - started, 1)
    return report
