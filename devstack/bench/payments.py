"""`q2c bench payments`: many runs waiting for payment on one worker; its memory.

A fresh dev stack (Temporal dev server, systems service, outbox, one worker process) under a
temporary home. Every run bills C-1007 (a bank-transfer customer, straight through, net 30)
for one of 60 monthly periods (from November 2026) and goes on into collection: posted,
delivered, its collection planned, then waiting on its due-date timer for a payment that
does not come. Runs sharing a period share the ERP posting key (the idempotent path a
retried post takes). A waiting run holds nothing but its place in the workflow cache: the
worker's memory is bounded by the cache, not by the number of runs.

The time limit bounds the whole bench: runs still on their way when it passes are reported
as such, with the memory of those that made it, rather than lost with an error.
"""

import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path

import httpx

from devstack.bench.approvals import (
    TASK_QUEUE,
    Say,
    bench_event,
    count,
    count_until,
    rss_text,
    start_paced,
    start_run,
)
from devstack.bench.memory import peak_rss_mib, rss_mib
from devstack.stack import DevStack, Ports, free_port
from schemas.runs import RunInput, RunState
from workflows import search_attributes as sa

CONTRACT = "C-1007"
# From November 2026 on: the seeded usage of October 2026 stands out against the empty months
# around it, so routing would hold those runs for approval short of the payment wait.
CACHE_GAUGE = "temporal_sticky_cache_size"
"""The SDK's gauge of the workflows the worker holds in its cache (served for Prometheus)."""


@dataclass(frozen=True, slots=True)
class PaymentWaitBench:
    runs: int
    """Asked for."""
    started: int
    waiting: int
    """Runs waiting for payment when the memory was sampled (all of `runs` unless the time
    limit passed first)."""
    start_seconds: float
    waiting_seconds: float
    """From the first start until `waiting` runs waited."""
    worker_rss_median_mb: float
    worker_rss_peak_mb: float
    """Median and peak of the worker's resident set sampled over the hold, every run waiting."""
    worker_peak_rss_mb: float
    """The most the worker held at any time in the bench (VmHWM)."""
    cache_limit: int
    cached: int | None
    """Workflows in the worker's cache at the end of the hold, by the SDK's gauge."""

    @property
    def complete(self) -> bool:
        return self.waiting >= self.runs

    @property
    def waiting_per_second(self) -> float:
        return self.waiting / self.waiting_seconds


async def cached_workflows(metrics_port: int) -> int | None:
    """The worker's sticky cache size from its Prometheus endpoint; None if it has none yet."""
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.get(f"http://127.0.0.1:{metrics_port}/metrics")
        response.raise_for_status()
    except httpx.HTTPError:
        return None
    for line in response.text.splitlines():
        if line.startswith(CACHE_GAUGE):
            return int(float(line.rsplit(" ", 1)[1]))
    return None


async def _hold(pid: int, seconds: float) -> list[float]:
    """The worker's resident set once a second for `seconds`, runs waiting all along."""
    samples = [rss_mib(pid)]
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        await asyncio.sleep(1)
        samples.append(rss_mib(pid))
    return samples


async def _drive(
    stack: DevStack,
    runs: int,
    *,
    in_flight: int,
    timeout: float,
    hold: float,
    metrics_port: int,
    say: Say,
) -> PaymentWaitBench:
    client = await stack.connect()
    prefix = f"bench-pay-{uuid.uuid4().hex[:8]}"
    pid = stack.pids()["worker"]
    state = sa.Q2C_STATUS.name
    waiting = f'{state} = "{RunState.AWAITING_PAYMENT.value}" AND WorkflowId STARTS_WITH "{prefix}"'

    def start(index: int) -> Awaitable[None]:
        event = bench_event(index, contract=CONTRACT, id_prefix="bench-pay", first_month=11)
        return start_run(
            client, RunInput(event=event, collect=True), workflow_id=f"{prefix}-{index}"
        )

    began = time.monotonic()
    deadline = began + timeout
    started = await start_paced(
        client,
        runs,
        in_flight=in_flight,
        waiting=waiting,
        start=start,
        say=say,
        pid=pid,
        what="awaiting payment",
        deadline=deadline,
    )
    started_at = time.monotonic()
    arrived = await count_until(client, waiting, started, deadline=deadline, say=say, pid=pid)
    all_waiting = time.monotonic()
    if arrived < runs:
        say(f"time limit: {arrived} of {runs} runs waiting for payment, {started} started")
    say(f"{arrived} awaiting payment after {all_waiting - began:.1f} s; worker RSS {rss_text(pid)}")
    samples = await _hold(pid, hold)
    still = await count(client, waiting)
    return PaymentWaitBench(
        runs=runs,
        started=started,
        waiting=min(arrived, still),
        start_seconds=started_at - began,
        waiting_seconds=all_waiting - began,
        worker_rss_median_mb=statistics.median(samples),
        worker_rss_peak_mb=max(samples),
        worker_peak_rss_mb=peak_rss_mib(pid),
        cache_limit=int(stack.env().get("Q2C_MAX_CACHED_WORKFLOWS", "2000")),
        cached=await cached_workflows(metrics_port),
    )


def run(
    runs: int,
    *,
    in_flight: int = 500,
    cache: int = 2000,
    timeout: float = 4 * 3600,
    hold: float = 60,
    home: Path | None = None,
    say: Say = lambda _: None,
) -> PaymentWaitBench:
    metrics_port = free_port()
    with tempfile.TemporaryDirectory(prefix="q2c-bench-") as scratch:
        stack = DevStack(
            home=home or Path(scratch),
            ports=Ports.random(),
            extra_env={
                "Q2C_MAX_CACHED_WORKFLOWS": str(cache),
                "Q2C_TASK_QUEUE": TASK_QUEUE,
                "Q2C_METRICS_PORT": str(metrics_port),
            },
        )
        with stack:
            return asyncio.run(
                _drive(
                    stack,
                    runs,
                    in_flight=in_flight,
                    timeout=timeout,
                    hold=hold,
                    metrics_port=metrics_port,
                    say=say,
                )
            )
