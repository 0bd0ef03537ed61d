"""`q2c bench close`: one month-end fire of the billing calendar over N contracts, beside the
ceiling, in one invocation on one embedded stack.

1. Seed N contracts (clones of C-1001: monthly, calendar months, day 1, the seller's zone).
2. Ceiling: N `BenchCeiling` runs started at once, with the middle steps as local
   activities as q2c's are (the same shape of history as a q2c run), then the plain one.
3. q2c: one fire of the calendar's fan-out for 1 November 2026, which pages through the CRM
   and starts every due October close from its activity; the runs bill, post and deliver.

Figures come from the server's visibility (start and close times) and /proc (CPU, memory),
as in `q2c bench burst`. While a phase runs, its progress is one count query every two
seconds, the same for the ceiling and q2c; the runs are listed only after the phase's CPU
is read, so a longer phase is not charged for listing its runs over and over.
"""

import asyncio
import os
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from temporalio.client import Client

from devstack.bench.ceiling import CEILING_TASK_QUEUE, CeilingPlan, CeilingWorkflow
from devstack.bench.harness import (
    _burst,
    _is_ok,
    _stack_cpu,
    _stack_cpu_since,
    _start_workers,
    _stop_workers,
    closed_count_reached,
    closed_runs,
)
from devstack.bench.history import HistoryCounts, count_history
from devstack.bench.memory import MemorySampler, rss_mib
from devstack.bench.seed import CONTRACT_PREFIX, contract_id, seed_contracts
from devstack.bench.stats import Figures, percentile
from devstack.pollers import wait_for_pollers
from devstack.stack import DevStack, Ports
from ops.calendar import nominal_fire
from schemas.calendar import CalendarKey, FanOutInput, FanOutResult
from starters.events import month
from workers.settings import Settings
from workflows.calendar_fanout import CalendarFanOutWorkflow

FIRE_DAY = date(2026, 11, 1)
OCTOBER = month(2026, 10)


@dataclass(frozen=True)
class CloseConfig:
    home: Path
    contracts: int = 10_000
    workers: int = 1
    starts_per_second: float = 200.0
    page_size: int = 500
    timeout_seconds: float = 7_200.0

    def __post_init__(self) -> None:
        if self.contracts < 1 or self.workers < 1:
            raise ValueError("contracts and workers: must be at least 1")


@dataclass
class FireFigures:
    contracts: int
    started: int
    duplicates: int
    skipped: int
    pages: int
    posted: int
    runs_per_id_max: int
    seconds_to_all_started: float
    seconds_to_all_posted: float
    runs_per_second: float
    p50_ms: float
    worker_cpu_ms_per_run: float
    server_cpu_ms_per_run: float
    systems_cpu_ms_per_run: float
    worker_rss_mib_before: float
    worker_rss_mib_peak: float
    worker_rss_mib_after: float
    fanout_runs: int
    fanout_events_max: int
    fanout_bytes_max: int


@dataclass
class CloseReport:
    config: dict[str, Any]
    machine: dict[str, Any]
    ceiling_local: Figures | None = None
    ceiling: Figures | None = None
    fire: FireFigures | None = None
    run_history: HistoryCounts | None = None
    ratios: dict[str, float] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "machine": self.machine,
            "ceiling_same_shape": asdict(self.ceiling_local) if self.ceiling_local else None,
            "ceiling_plain": asdict(self.ceiling) if self.ceiling else None,
            "q2c_fire": asdict(self.fire) if self.fire else None,
            "q2c_run_history": asdict(self.run_history) if self.run_history else None,
            "ratios": self.ratios,
        }


async def _ceiling(
    client: Client, stack: DevStack, config: CloseConfig, plan: CeilingPlan, label: str
) -> Figures:
    ids = [f"bench-close-{label}-{i}" for i in range(config.contracts)]
    names = _start_workers(stack, kind="ceiling", count=config.workers)
    sampler = MemorySampler(pids=[stack.pids()[n] for n in names])
    sampler.start()
    try:
        await wait_for_pollers(client, CEILING_TASK_QUEUE, count=config.workers)

        async def start(index: int) -> object:
            return await client.start_workflow(
                CeilingWorkflow.run, plan, id=ids[index], task_queue=CEILING_TASK_QUEUE
            )

        return await _burst(
            client,
            ids=ids,
            start=start,
            workflow_type="BenchCeiling",
            sampler=sampler,
            stack=stack,
            timeout=config.timeout_seconds,
        )
    finally:
        sampler.stop()
        _stop_workers(stack, names)


async def _fire(client: Client, stack: DevStack, config: CloseConfig, report: CloseReport) -> None:
    settings = Settings(systems_url=stack.systems_url, systems_token=stack.token)
    names = _start_workers(stack, kind="q2c", count=config.workers)
    pids = [stack.pids()[n] for n in names]
    sampler = MemorySampler(pids=pids)
    sampler.start()
    try:
        await wait_for_pollers(client, settings.task_queue, count=config.workers)
        key = CalendarKey(
            interval="monthly",
            alignment="calendar",
            bill_cycle_day=1,
            time_zone=settings.seller_time_zone,
        )
        ids = {
            f"q2c:{contract_id(i)}:cycle:{OCTOBER[0]}:{OCTOBER[1]}" for i in range(config.contracts)
        }
        await asyncio.sleep(2.0)
        before_rss = sum(rss_mib(p) for p in pids)
        sampler.window()
        stack_before = _stack_cpu(stack)
        began = datetime.now(UTC)
        clock = time.monotonic()
        fanout_id = f"q2c-bench-close-fanout-{FIRE_DAY}"
        handle = await client.start_workflow(
            CalendarFanOutWorkflow.run,
            FanOutInput(
                calendar=key,
                task_queue=settings.task_queue,
                starts_per_second=config.starts_per_second,
                page_size=config.page_size,
                collect=False,  # to delivery, as `q2c bench burst` measures
                fired_at=nominal_fire(key, FIRE_DAY),
            ),
            id=fanout_id,
            task_queue=settings.task_queue,
        )
        since = began.replace(microsecond=0).isoformat().replace("+00:00", "Z")
        # The bench's own runs: the fire also closes the demo contracts, one of which waits
        # for approval. A count of them at a low rate, as for the ceiling, once the fan-out
        # has started them all (its result waits on its history, not on visibility); the
        # runs are listed once, after the measured phase.
        query = (
            f"WorkflowType = 'QuoteToCash' AND StartTime >= '{since}'"
            f" AND WorkflowId STARTS_WITH 'q2c:{CONTRACT_PREFIX}'"
        )
        result: FanOutResult = await handle.result()
        timeout = config.timeout_seconds
        await closed_count_reached(client, query, len(ids), timeout=timeout, began=clock)
        workers = sampler.window()
        stack_used = _stack_cpu_since(stack, stack_before)
        found = await closed_runs(client, query, ids, timeout=timeout, began=clock)
        executions = [e for runs in found.values() for e in runs]
        after_rss = sum(rss_mib(p) for p in pids)
        per_id: dict[str, int] = {}
        for execution in executions:
            per_id[execution.id] = per_id.get(execution.id, 0) + 1
        last_start = max(e.start_time for e in executions)
        last_close = max(e.close_time for e in executions if e.close_time)
        latencies = [
            (e.close_time - e.start_time).total_seconds() for e in executions if e.close_time
        ]
        fanout_runs = [r async for r in client.list_workflows(f"WorkflowId = '{fanout_id}'")]
        histories = [
            await count_history(client.get_workflow_handle(fanout_id, run_id=r.run_id))
            for r in fanout_runs
        ]
        n = len(executions)
        # CPU per run started: the fire also closes the demo data's own monthly contracts.
        cpu_runs = max(result.started + result.duplicates, 1)
        report.fire = FireFigures(
            contracts=config.contracts,
            started=result.started,
            duplicates=result.duplicates,
            skipped=len(result.skipped),
            pages=result.pages,
            posted=sum(_is_ok(e, q2c=True) for e in executions),
            runs_per_id_max=max(per_id.values()),
            seconds_to_all_started=round((last_start - began).total_seconds(), 1),
            seconds_to_all_posted=round((last_close - began).total_seconds(), 1),
            runs_per_second=round(n / (last_close - began).total_seconds(), 2),
            p50_ms=round(percentile(latencies, 50) * 1000, 1),
            worker_cpu_ms_per_run=round(workers.cpu_seconds * 1000 / cpu_runs, 1),
            server_cpu_ms_per_run=round(stack_used.get("temporal", 0.0) * 1000 / cpu_runs, 1),
            systems_cpu_ms_per_run=round(stack_used.get("systems", 0.0) * 1000 / cpu_runs, 1),
            worker_rss_mib_before=round(before_rss, 1),
            worker_rss_mib_peak=round(sum(workers.peak_rss_mib.values()), 1),
            worker_rss_mib_after=round(after_rss, 1),
            fanout_runs=len(histories),
            fanout_events_max=max(h.events for h in histories),
            fanout_bytes_max=max(h.bytes for h in histories),
        )
        report.run_history = await count_history(
            client.get_workflow_handle(next(iter(sorted(ids))))
        )
    finally:
        sampler.stop()
        _stop_workers(stack, names)


async def run_close_bench(config: CloseConfig, *, say: Any) -> CloseReport:
    report = CloseReport(
        config={k: v for k, v in asdict(config).items() if k != "home"},
        machine={"cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()]},
    )
    stack = DevStack(home=config.home, ports=Ports.random(), with_worker=False)
    # In this thread, before anything else runs: a SIGTERM while it starts (SystemExit,
    # cli/__init__.py) then stops what it had started.
    stack.start()
    try:
        client = await stack.connect()
        say(f"seeding {config.contracts} contracts")
        async with stack.systems_client(timeout=60) as http:
            await seed_contracts(http, count=config.contracts, periods=[OCTOBER])
        same_shape = CeilingPlan(local=3)  # draft, tax and route: local, as q2c's are
        say("ceiling, same shape (local steps)")
        report.ceiling_local = await _ceiling(client, stack, config, same_shape, "local")
        say(f"  {report.ceiling_local.runs_per_second} runs/s")
        say("ceiling, plain")
        report.ceiling = await _ceiling(client, stack, config, CeilingPlan(), "plain")
        say(f"  {report.ceiling.runs_per_second} runs/s")
        say("q2c: one month-end fire")
        await _fire(client, stack, config, report)
        assert report.fire is not None
        say(f"  {report.fire.runs_per_second} runs/s, {report.fire.posted} posted")
    finally:
        await asyncio.to_thread(stack.stop)
    report.machine["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    if report.fire and report.ceiling_local and report.ceiling:
        report.ratios = {
            "q2c_over_same_shape_ceiling": round(
                report.fire.runs_per_second / report.ceiling_local.runs_per_second, 3
            ),
            "q2c_over_plain_ceiling": round(
                report.fire.runs_per_second / report.ceiling.runs_per_second, 3
            ),
        }
    return report
