"""One invocation: ceiling bursts, q2c bursts, idle latency, and the histories' counts.

Everything runs against one embedded stack (dev server, systems, worker processes) so the
ratios compare like with like. Worker processes are measured from /proc, the same way for the
ceiling and for q2c.
"""

import asyncio
import os
import signal
import statistics
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from devstack.bench.ceiling import (
    CEILING_TASK_QUEUE,
    SHORT_STEPS,
    STEPS,
    CeilingPlan,
    CeilingWorkflow,
)
from devstack.bench.history import HistoryCounts, count_history
from devstack.bench.memory import MemorySampler, cpu_seconds
from devstack.bench.profile import Profiler, ProfileSummary
from devstack.bench.seed import cycle_event, seed_approval_contract, seed_contracts
from devstack.bench.stats import Figures
from devstack.pollers import wait_for_pollers
from devstack.stack import DevStack, Ports
from schemas.runs import RunState, RunStatus
from starters.events import month
from starters.intake import run_handle, start_run
from workers.client import connect, data_converter
from workers.settings import Settings
from workflows import search_attributes as sa

Progress = Callable[[str], None]
START_CONCURRENCY = 64
LAST_BURST_MONTH = 10
HISTORIES_SECONDS = 300.0
"""Bound on recording the histories (one approved run and a few reads): seconds on an idle
stack, minutes on a loaded one."""
QUERY_TIMEOUT = timedelta(seconds=10)
"""Bound on one status query: a run whose worker is still starting answers after it."""


@dataclass(frozen=True)
class BenchConfig:
    home: Path
    runs: int = 1_000
    workers: int = 1
    bursts: int = 3
    latency_runs: int = 20
    histories: bool = True
    local_steps: int = 0
    """With more than 0, also a ceiling whose middle steps run as local activities."""
    timeout_seconds: float = 1_800.0
    """Bound on each burst and on each single run."""
    deadline_seconds: float | None = None
    """Bound on the whole bench once its stack is up; past it, the report holds the figures
    of what finished and names the phase it stopped in."""
    worker_env: dict[str, str] = field(default_factory=dict)
    """`Q2C_*` tuning knobs for every worker process (ceiling and q2c alike)."""
    codec_off: bool = True
    """Also bursts with payload encryption off, on contracts of their own, before the shipped
    (encrypted) bursts: the codec's cost in the same invocation."""
    profile_dir: Path | None = None
    """With a folder, py-spy records each q2c worker (encrypted phase) through the bursts."""

    def __post_init__(self) -> None:
        if not 1 <= self.bursts <= LAST_BURST_MONTH - 2:
            raise ValueError(f"bursts: must be 1 to {LAST_BURST_MONTH - 2} (one month each)")
        if not 0 <= self.local_steps <= SHORT_STEPS:
            raise ValueError(f"local_steps: must be 0 to {SHORT_STEPS}")
        for name in ("runs", "workers", "latency_runs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be at least 1")
        if self.deadline_seconds is not None and self.deadline_seconds <= 0:
            raise ValueError("deadline_seconds: must be more than 0")


@dataclass
class BenchReport:
    config: dict[str, Any]
    machine: dict[str, Any]
    ceiling_bursts: list[Figures] = field(default_factory=list)
    q2c_bursts: list[Figures] = field(default_factory=list)
    ceiling_latency: Figures | None = None
    ceiling_local_bursts: list[Figures] = field(default_factory=list)
    ceiling_local_latency: Figures | None = None
    q2c_latency: Figures | None = None
    plain_bursts: list[Figures] = field(default_factory=list)
    plain_latency: Figures | None = None
    histories: dict[str, HistoryCounts] = field(default_factory=dict)
    profiles: dict[str, ProfileSummary] = field(default_factory=dict)
    phase: str = ""
    """The phase under way (the last one begun)."""
    stopped: str = ""
    """Why the bench stopped before its end (its deadline), or empty."""
    histories_error: str = ""
    """Why a history could not be recorded, or empty: the figures stand without it."""

    @property
    def complete(self) -> bool:
        return not self.stopped and not self.histories_error

    @staticmethod
    def _median(figures: list[Figures], key: str) -> float:
        return float(statistics.median(getattr(f, key) for f in figures))

    def ratios(self) -> dict[str, float]:
        ratios: dict[str, float] = {}
        if self.ceiling_bursts and self.q2c_bursts:
            ceiling = self._median(self.ceiling_bursts, "runs_per_second")
            q2c = self._median(self.q2c_bursts, "runs_per_second")
            ratios["burst_throughput_q2c_over_ceiling"] = round(q2c / ceiling, 3)
            ratios["burst_p50_q2c_over_ceiling"] = round(
                self._median(self.q2c_bursts, "p50_ms")
                / self._median(self.ceiling_bursts, "p50_ms"),
                3,
            )
        if self.ceiling_latency and self.q2c_latency:
            ratios["latency_p50_q2c_over_ceiling"] = round(
                self.q2c_latency.p50_ms / self.ceiling_latency.p50_ms, 3
            )
        if self.ceiling_local_bursts and self.q2c_bursts:
            # The ceiling with q2c's history shape: the yardstick that compares like with like.
            local = self.ceiling_local_bursts
            ratios["burst_throughput_q2c_over_ceiling_local"] = round(
                self._median(self.q2c_bursts, "runs_per_second")
                / self._median(local, "runs_per_second"),
                3,
            )
            ratios["burst_p50_q2c_over_ceiling_local"] = round(
                self._median(self.q2c_bursts, "p50_ms") / self._median(local, "p50_ms"), 3
            )
            ratios["worker_cpu_q2c_over_ceiling_local"] = round(
                self._median(self.q2c_bursts, "worker_cpu_ms_per_run")
                / self._median(local, "worker_cpu_ms_per_run"),
                3,
            )
        if self.ceiling_local_latency and self.q2c_latency:
            ratios["latency_p50_q2c_over_ceiling_local"] = round(
                self.q2c_latency.p50_ms / self.ceiling_local_latency.p50_ms, 3
            )
        if self.ceiling_bursts and self.ceiling_local_bursts:
            ratios["ceiling_local_over_ceiling_throughput"] = round(
                self._median(self.ceiling_local_bursts, "runs_per_second")
                / self._median(self.ceiling_bursts, "runs_per_second"),
                3,
            )
        if self.ceiling_latency and self.ceiling_local_latency:
            ratios["ceiling_local_over_ceiling_latency_p50"] = round(
                self.ceiling_local_latency.p50_ms / self.ceiling_latency.p50_ms, 3
            )
        if self.plain_bursts and self.q2c_bursts:
            ratios["codec_on_over_off_throughput"] = round(
                self._median(self.q2c_bursts, "runs_per_second")
                / self._median(self.plain_bursts, "runs_per_second"),
                3,
            )
            ratios["codec_on_over_off_burst_p50"] = round(
                self._median(self.q2c_bursts, "p50_ms") / self._median(self.plain_bursts, "p50_ms"),
                3,
            )
        if self.plain_latency and self.q2c_latency:
            ratios["codec_on_over_off_latency_p50"] = round(
                self.q2c_latency.p50_ms / self.plain_latency.p50_ms, 3
            )
        if len(self.q2c_bursts) > 1:
            first, last = self.q2c_bursts[0], self.q2c_bursts[-1]
            ratios["q2c_memory_last_over_first_burst"] = round(
                last.peak_rss_mib / first.peak_rss_mib, 3
            )
        return ratios

    def as_json(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "machine": self.machine,
            "ceiling": {
                "bursts": [asdict(f) for f in self.ceiling_bursts],
                "latency": asdict(self.ceiling_latency) if self.ceiling_latency else None,
            },
            "ceiling_local": {
                "bursts": [asdict(f) for f in self.ceiling_local_bursts],
                "latency": (
                    asdict(self.ceiling_local_latency) if self.ceiling_local_latency else None
                ),
            },
            "q2c_codec_off": {
                "bursts": [asdict(f) for f in self.plain_bursts],
                "latency": asdict(self.plain_latency) if self.plain_latency else None,
            },
            "q2c": {
                "bursts": [asdict(f) for f in self.q2c_bursts],
                "latency": asdict(self.q2c_latency) if self.q2c_latency else None,
            },
            "ratios": self.ratios(),
            "histories": {name: asdict(h) for name, h in self.histories.items()},
            "stopped": self.stopped,
            "histories_error": self.histories_error,
            "profiles": {name: asdict(p) for name, p in self.profiles.items()},
        }


def _machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()]}


def _worker_settings(stack: DevStack) -> Settings:
    return Settings(systems_url=stack.systems_url, systems_token=stack.token)


def _is_ok(execution: WorkflowExecution, *, q2c: bool) -> bool:
    if execution.status is not WorkflowExecutionStatus.COMPLETED:
        return False
    if not q2c:
        return True
    return execution.typed_search_attributes.get(sa.Q2C_STATUS) == RunState.DELIVERED.value


def _stack_cpu(stack: DevStack) -> dict[str, float]:
    """CPU seconds used so far by the dev server, the systems service and the SMTP server."""
    pids = stack.pids()
    names = ("temporal", "systems", "outbox")
    return {name: cpu_seconds(pids[name]) for name in names if name in pids}


def _stack_cpu_since(stack: DevStack, before: dict[str, float]) -> dict[str, float]:
    return {name: cpu - before.get(name, cpu) for name, cpu in _stack_cpu(stack).items()}


PROGRESS_POLL_SECONDS = 2.0
"""How often a bench asks the server how many of its runs have closed: one count query, the
same for the ceiling and q2c, so neither phase is charged for listing its runs as it goes."""


async def closed_count_reached(
    client: Client, query: str, expected: int, *, timeout: float, began: float
) -> None:
    """Returns once visibility counts `expected` closed runs matching `query`: a count at a
    low rate, not a listing of every run, so a longer phase costs the server only a few
    more cheap queries."""
    closed = f"{query} AND ExecutionStatus != 'Running'"
    while True:
        counted = (await client.count_workflows(closed)).count
        if counted >= expected:
            return
        if time.monotonic() - began > timeout:
            raise TimeoutError(f"{counted} of {expected} runs closed after {timeout}s")
        await asyncio.sleep(PROGRESS_POLL_SECONDS)


async def closed_runs(
    client: Client, query: str, ids: set[str], *, timeout: float, began: float
) -> dict[str, list[WorkflowExecution]]:
    """Every run of `ids` matching `query`, each id's runs (a second run of an id counts),
    once visibility lists them all closed: read after the measured phase, for its figures."""
    while True:
        found: dict[str, list[WorkflowExecution]] = {}
        async for execution in client.list_workflows(query):
            if execution.id in ids:
                found.setdefault(execution.id, []).append(execution)
        runs = [e for listed in found.values() for e in listed]
        if len(found) == len(ids) and all(e.close_time is not None for e in runs):
            return found
        if time.monotonic() - began > timeout:
            closed = sum(e.close_time is not None for e in runs)
            raise TimeoutError(f"{closed} of {len(ids)} runs closed after {timeout}s")
        await asyncio.sleep(PROGRESS_POLL_SECONDS)


async def _burst(
    client: Client,
    *,
    ids: list[str],
    start: Callable[[int], Awaitable[object]],
    workflow_type: str,
    sampler: MemorySampler,
    stack: DevStack,
    timeout: float,
) -> Figures:
    """Start every run at once (bounded client concurrency), wait until none runs."""
    sampler.window()
    stack_before = _stack_cpu(stack)
    began = datetime.now(UTC)
    clock = time.monotonic()
    gate = asyncio.Semaphore(START_CONCURRENCY)

    async def one(index: int) -> None:
        async with gate:
            await start(index)

    await asyncio.gather(*(one(i) for i in range(len(ids))))
    since = began.replace(microsecond=0).isoformat().replace("+00:00", "Z")
    query = f"WorkflowType = '{workflow_type}' AND StartTime >= '{since}'"
    await closed_count_reached(client, query, len(ids), timeout=timeout, began=clock)
    workers = sampler.window()
    stack_used = _stack_cpu_since(stack, stack_before)
    found = await closed_runs(client, query, set(ids), timeout=timeout, began=clock)
    executions = [e for runs in found.values() for e in runs]
    latencies = [(e.close_time - e.start_time).total_seconds() for e in executions if e.close_time]
    first_start = min(e.start_time for e in executions)
    last_close = max(e.close_time for e in executions if e.close_time)
    return Figures.of(
        latencies=latencies,
        ok=sum(_is_ok(e, q2c=workflow_type == "QuoteToCash") for e in executions),
        seconds=(last_close - first_start).total_seconds(),
        workers=workers,
        stack_cpu_seconds=stack_used,
    )


async def _sequential(
    run_once: Callable[[int], Awaitable[bool]],
    *,
    count: int,
    sampler: MemorySampler,
    stack: DevStack,
) -> Figures:
    """One run at a time on an idle stack: start to result."""
    sampler.window()
    stack_before = _stack_cpu(stack)
    latencies: list[float] = []
    ok = 0
    clock = time.monotonic()
    for index in range(count):
        began = time.perf_counter()
        ok += await run_once(index)
        latencies.append(time.perf_counter() - began)
    return Figures.of(
        latencies=latencies,
        ok=ok,
        seconds=time.monotonic() - clock,
        workers=sampler.window(),
        stack_cpu_seconds=_stack_cpu_since(stack, stack_before),
    )


def _start_workers(
    stack: DevStack, *, kind: str, count: int, env: dict[str, str] | None = None
) -> list[str]:
    names = []
    for index in range(count):
        name = f"bench-{kind}-{index}"
        argv = [sys.executable, "-m", "cli"]
        argv += ["bench", "ceiling-worker"] if kind == "ceiling" else ["worker"]
        stack.start_process(name, argv, env=env)
        names.append(name)
    return names


def _stop_workers(stack: DevStack, names: list[str]) -> None:
    for name in names:
        stack.stop_process(name)


async def _ceiling_runs(
    client: Client,
    stack: DevStack,
    config: BenchConfig,
    plan: CeilingPlan,
    sampler: MemorySampler,
    say: Progress,
    bursts: list[Figures],
) -> Figures:
    """The bursts go into `bursts` as each ends (a deadline keeps those that finished)."""
    label = "ceiling" if plan.local == 0 else f"ceiling-local{plan.local}"
    for burst in range(config.bursts):
        ids = [f"bench-{label}-{burst}-{i}" for i in range(config.runs)]

        async def start(index: int, ids: list[str] = ids) -> object:
            return await client.start_workflow(
                CeilingWorkflow.run, plan, id=ids[index], task_queue=CEILING_TASK_QUEUE
            )

        figures = await _burst(
            client,
            ids=ids,
            start=start,
            workflow_type="BenchCeiling",
            sampler=sampler,
            stack=stack,
            timeout=config.timeout_seconds,
        )
        bursts.append(figures)
        say(f"{label} burst {burst + 1}: {figures.runs_per_second} runs/s")

    async def once(index: int) -> bool:
        async with asyncio.timeout(config.timeout_seconds):
            result = await client.execute_workflow(
                CeilingWorkflow.run,
                plan,
                id=f"bench-{label}-latency-{index}",
                task_queue=CEILING_TASK_QUEUE,
            )
        return result == plan.steps

    latency = await _sequential(once, count=config.latency_runs, sampler=sampler, stack=stack)
    say(f"{label} latency p50: {latency.p50_ms} ms")
    return latency


async def _ceiling_phase(
    client: Client, stack: DevStack, config: BenchConfig, report: BenchReport, say: Progress
) -> None:
    names = _start_workers(stack, kind="ceiling", count=config.workers)
    sampler = MemorySampler(pids=[stack.pids()[n] for n in names])
    sampler.start()
    try:
        await wait_for_pollers(client, CEILING_TASK_QUEUE, count=config.workers)
        async with asyncio.timeout(config.timeout_seconds):
            await client.execute_workflow(
                CeilingWorkflow.run,
                CeilingPlan(),
                id="bench-ceiling-warmup",
                task_queue=CEILING_TASK_QUEUE,
            )
        report.ceiling_latency = await _ceiling_runs(
            client, stack, config, CeilingPlan(), sampler, say, report.ceiling_bursts
        )
        if config.local_steps:
            plan = CeilingPlan(local=config.local_steps)
            report.phase = f"ceiling-local{plan.local}"
            report.ceiling_local_latency = await _ceiling_runs(
                client, stack, config, plan, sampler, say, report.ceiling_local_bursts
            )
    finally:
        sampler.stop()
        _stop_workers(stack, names)


@dataclass(frozen=True)
class Q2cPhase:
    """One set of q2c bursts: its label, the worker settings it differs by, and the first
    seeded contract it bills (each phase bills contracts of its own)."""

    label: str
    first_contract: int = 0
    worker_env: dict[str, str] = field(default_factory=dict)


async def _q2c_phase(
    client: Client,
    stack: DevStack,
    config: BenchConfig,
    periods: list[tuple[date, date]],
    say: Progress,
    phase: Q2cPhase,
    bursts: list[Figures],
    latency_ids: list[str],
    profiles: dict[str, ProfileSummary] | None = None,
) -> Figures:
    """The bursts go into `bursts` as each ends, the latency runs' ids into `latency_ids`."""
    settings = _worker_settings(stack)
    names = _start_workers(stack, kind="q2c", count=config.workers, env=phase.worker_env)
    sampler = MemorySampler(pids=[stack.pids()[n] for n in names])
    sampler.start()
    first = phase.first_contract
    try:
        await wait_for_pollers(client, settings.task_queue, count=config.workers)
        # The figures are for a run up to posting and delivery: no run waits for payment.
        warmup_event = cycle_event(0, month(2026, 1 + first // config.runs), contract="C-1001")
        warmup = await start_run(
            client, warmup_event, task_queue=settings.task_queue, collect=False
        )
        async with asyncio.timeout(config.timeout_seconds):
            await run_handle(client, warmup.workflow_id).result()
        profiler = None
        if profiles is not None and config.profile_dir is not None:
            profiler = Profiler(config.profile_dir, {n: stack.pids()[n] for n in names})
            profiler.start()
        for burst in range(config.bursts):
            events = [cycle_event(first + i, periods[burst]) for i in range(config.runs)]
            ids = [f"q2c:{e.business_key}" for e in events]

            async def start(index: int, events: list[Any] = events) -> object:
                return await start_run(
                    client, events[index], task_queue=settings.task_queue, collect=False
                )

            figures = await _burst(
                client,
                ids=ids,
                start=start,
                workflow_type="QuoteToCash",
                sampler=sampler,
                stack=stack,
                timeout=config.timeout_seconds,
            )
            bursts.append(figures)
            say(
                f"{phase.label} burst {burst + 1}: {figures.runs_per_second} runs/s,"
                f" {figures.ok} delivered"
            )
        if profiler is not None and profiles is not None:
            profiles.update(profiler.stop())

        latency_period = periods[config.bursts]  # a month no burst billed

        async def once(index: int) -> bool:
            event = cycle_event(first + index, latency_period)
            outcome = await start_run(client, event, task_queue=settings.task_queue, collect=False)
            latency_ids.append(outcome.workflow_id)
            async with asyncio.timeout(config.timeout_seconds):
                status: RunStatus = await run_handle(client, outcome.workflow_id).result()
            return status.state is RunState.DELIVERED

        latency = await _sequential(
            once, count=min(config.latency_runs, config.runs), sampler=sampler, stack=stack
        )
        say(f"{phase.label} latency p50: {latency.p50_ms} ms")
    finally:
        sampler.stop()
        _stop_workers(stack, names)
    return latency


async def _histories(
    client: Client,
    stack: DevStack,
    config: BenchConfig,
    latency_ids: list[str],
    report: BenchReport,
    say: Progress,
) -> None:
    """Within HISTORIES_SECONDS; a history that cannot be recorded is reported, and the
    figures stand without it."""
    try:
        async with asyncio.timeout(HISTORIES_SECONDS):
            await _record_histories(client, stack, config, latency_ids, report)
    except (TimeoutError, RPCError, RuntimeError) as error:
        # A TimeoutError from asyncio.timeout carries no message: say which bound it was.
        reason = str(error) or f"not recorded within {HISTORIES_SECONDS:.0f}s"
        report.histories_error = f"{type(error).__name__}: {reason}"
        say(f"histories: {report.histories_error}")


async def _record_histories(
    client: Client,
    stack: DevStack,
    config: BenchConfig,
    latency_ids: list[str],
    report: BenchReport,
) -> None:
    settings = _worker_settings(stack)
    names = _start_workers(stack, kind="q2c", count=1)
    try:
        await wait_for_pollers(client, settings.task_queue, count=1)
        report.histories["straight_through"] = await count_history(
            client.get_workflow_handle(latency_ids[0])
        )
        report.histories["approved"] = await _approved_history(client, stack, settings)
        report.histories["ceiling"] = await count_history(
            client.get_workflow_handle("bench-ceiling-warmup")
        )
        if config.local_steps:
            report.histories["ceiling_local"] = await count_history(
                client.get_workflow_handle(f"bench-ceiling-local{config.local_steps}-latency-0")
            )
    finally:
        _stop_workers(stack, names)


async def _state(handle: WorkflowHandle[Any, RunStatus]) -> RunState | None:
    """The run's state, or None when the query timed out (a loaded machine): ask again."""
    try:
        status: RunStatus = await handle.query(
            "status", result_type=RunStatus, rpc_timeout=QUERY_TIMEOUT
        )
    except RPCError as error:
        # The client's own timeout ends the call as cancelled; the server's, as deadline.
        if error.status not in (RPCStatusCode.CANCELLED, RPCStatusCode.DEADLINE_EXCEEDED):
            raise
        return None
    return status.state


async def _approved_history(client: Client, stack: DevStack, settings: Settings) -> HistoryCounts:
    """A run that waits for a person, approved by signal, as the UI would send it."""
    async with stack.systems_client() as http:
        contract = await seed_approval_contract(http)
    outcome = await start_run(
        client,
        cycle_event(0, month(2026, 10), contract=contract),
        task_queue=settings.task_queue,
        collect=False,
    )
    handle = run_handle(client, outcome.workflow_id)
    deadline = time.monotonic() + 180  # a loaded machine answers slowly
    while await _state(handle) is not RunState.AWAITING_APPROVAL:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{outcome.workflow_id} did not reach awaiting approval")
        await asyncio.sleep(0.2)
    await handle.signal("approve", {"approver": "cfo@q2c.example", "comment": "benchmark"})
    status = await handle.result()
    if status.state is not RunState.DELIVERED:
        raise RuntimeError(f"the approved run ended {status.state.value}: {status.reason}")
    return await count_history(handle)


async def _phases(stack: DevStack, config: BenchConfig, report: BenchReport, say: Progress) -> None:
    """Each phase in turn; its figures go into `report` as they come."""
    client = await stack.connect()
    periods = [month(2026, LAST_BURST_MONTH - b) for b in range(config.bursts + 1)]
    contracts = config.runs * (2 if config.codec_off else 1)
    report.phase = "seeding"
    say(f"seeding {contracts} contracts for {len(periods)} months")
    async with stack.systems_client(timeout=60) as http:
        await seed_contracts(http, count=contracts, periods=periods)
    report.phase = "ceiling"
    await _ceiling_phase(client, stack, config, report, say)
    if config.codec_off:
        # Before the shipped bursts, so those meet the fuller server: the codec's cost is
        # not understated by the order.
        plain = await connect(
            stack.temporal_address, converter=data_converter(Settings(encryption=False))
        )
        off = Q2cPhase(
            label="q2c codec off",
            first_contract=config.runs,
            worker_env={"Q2C_ENCRYPTION": "off"},
        )
        report.phase = off.label
        report.plain_latency = await _q2c_phase(
            plain, stack, config, periods, say, off, report.plain_bursts, []
        )
    report.phase = "q2c"
    latency_ids: list[str] = []
    report.q2c_latency = await _q2c_phase(
        client,
        stack,
        config,
        periods,
        say,
        Q2cPhase(label="q2c"),
        report.q2c_bursts,
        latency_ids,
        report.profiles,
    )
    if config.histories and latency_ids:
        report.phase = "histories"
        await _histories(client, stack, config, latency_ids, report, say)
    report.phase = ""


def _on_sigterm_cancel() -> asyncio.Event:
    """From now on SIGTERM cancels the running task (in the main thread only, where signal
    handlers can be set); the event tells that cancellation from any other."""
    terminated = asyncio.Event()
    task = asyncio.current_task()
    if task is None or threading.current_thread() is not threading.main_thread():
        return terminated

    def cancel() -> None:
        terminated.set()
        task.cancel()

    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, cancel)
    return terminated


async def run_bench(config: BenchConfig, *, say: Progress) -> BenchReport:
    report = BenchReport(
        config={k: v for k, v in asdict(config).items() if k not in ("home", "profile_dir")}
        | {"steps": STEPS},
        machine=_machine(),
    )
    stack = DevStack(
        home=config.home,
        ports=Ports.random(),
        with_worker=False,
        worker_count=config.workers,
        extra_env=config.worker_env,
    )
    # In this thread, before anything else runs: a SIGTERM while it starts (SystemExit,
    # cli/__init__.py) then stops what it had started.
    stack.start()
    deadline = asyncio.timeout(config.deadline_seconds)
    terminated = _on_sigterm_cancel()
    try:
        async with deadline:
            await _phases(stack, config, report, say)
    except TimeoutError:
        if not deadline.expired():  # a bound of a phase's own
            raise
        report.stopped = (
            f"the {config.deadline_seconds:.0f}s deadline ended the bench in its "
            f"{report.phase} phase"
        )
        say(report.stopped)
    except asyncio.CancelledError:
        if not terminated.is_set():
            raise
        # An outer `timeout` (SIGTERM): the stack is stopped, not left running its bursts,
        # and the figures of what finished are printed.
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
        report.stopped = f"SIGTERM ended the bench in its {report.phase} phase"
        say(report.stopped)
    finally:
        if threading.current_thread() is threading.main_thread():
            asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM)
        await asyncio.to_thread(stack.stop)
    report.machine["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return report
