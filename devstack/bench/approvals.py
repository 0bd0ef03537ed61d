"""`q2c bench approvals`: many runs waiting for approval on one worker; its peak memory,
then the throughput of approving them all.

A fresh dev stack (Temporal dev server, systems service, one worker process) under a temporary
home. Every run bills C-1009 (non-standard clause: always awaits approval) for one of 60
monthly periods, so runs sharing a period share the ERP posting key and the later ones find
the posting already made, which is the idempotent path a retried post takes.
"""

import asyncio
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from temporalio.client import Client, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from devstack.bench.memory import peak_rss_mib, rss_mib
from devstack.stack import DevStack, Ports
from schemas.approvals import Decision
from schemas.events import BillingCycleClosed
from schemas.runs import RunInput, RunState
from starters.events import cycle_closed, month
from workflows import search_attributes as sa
from workflows.quote_to_cash import QuoteToCashWorkflow

CONTRACT = "C-1009"
APPROVER = "cfo@q2c.example"
PERIODS = 60
TASK_QUEUE = "q2c-bench"
PROGRESS_SECONDS = 30
POLL_SECONDS = 2
"""Between counts: each is a visibility query the loaded server answers too."""
START_ATTEMPTS = 5
_BUSY = {
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.RESOURCE_EXHAUSTED,
    RPCStatusCode.CANCELLED,
}


@dataclass(frozen=True, slots=True)
class ApprovalBench:
    runs: int
    start_seconds: float
    waiting_seconds: float
    approve_seconds: float
    posted_seconds: float
    worker_peak_rss_mb: float
    worker_rss_waiting_mb: float
    cached_workflows: int

    @property
    def approvals_per_second(self) -> float:
        return self.runs / self.approve_seconds

    @property
    def posted_per_second(self) -> float:
        return self.runs / self.posted_seconds


def bench_event(
    index: int, *, contract: str = CONTRACT, id_prefix: str = "bench", first_month: int = 1
) -> BillingCycleClosed:
    """The index-th close of a bench contract: one a period of the PERIODS from `first_month`
    of 2026 on, the event id from the prefix."""
    return cycle_closed(
        contract,
        month(2026, first_month + index % PERIODS),
        event_id=f"{id_prefix}-{index}",
        occurred_at=datetime(2031, 1, 1, tzinfo=UTC),
    )


async def _gather_bounded(
    count: int, concurrency: int, job: Callable[[int], Awaitable[object]]
) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int) -> None:
        async with gate:
            await job(index)

    await asyncio.gather(*(one(i) for i in range(count)))


Say = Callable[[str], None]


async def count_until(
    client: Client, query: str, want: int, *, deadline: float, say: Say, pid: int
) -> int:
    """How many runs match `query` once `want` do, or at the deadline (monotonic)."""
    began = told = time.monotonic()
    got = await count(client, query)
    while got < want and time.monotonic() < deadline:
        if time.monotonic() - told >= PROGRESS_SECONDS:
            told = time.monotonic()
            say(f"{got} of {want} after {told - began:.0f} s; worker RSS {rss_text(pid)}")
        await asyncio.sleep(POLL_SECONDS)
        got = await count(client, query)
    return got


async def wait_count(
    client: Client, query: str, want: int, *, timeout: float, say: Say, pid: int
) -> None:
    deadline = time.monotonic() + timeout
    got = await count_until(client, query, want, deadline=deadline, say=say, pid=pid)
    if got < want:
        raise RuntimeError(f"only {got} of {want} runs reached {query!r} in {timeout:.0f}s")


async def count(client: Client, query: str) -> int:
    """Visibility's count; a loaded dev server may time a count out, so ask again."""
    for _ in range(10):
        try:
            return (await client.count_workflows(query)).count
        except RPCError:
            await asyncio.sleep(2)
    return (await client.count_workflows(query)).count


async def start_run(client: Client, input: RunInput, *, workflow_id: str) -> None:
    """Start one bench run. A loaded server may time a start out after taking it: the same
    id makes the retry safe (the run is then already started)."""
    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            await client.start_workflow(
                QuoteToCashWorkflow.run, input, id=workflow_id, task_queue=TASK_QUEUE
            )
        except WorkflowAlreadyStartedError:
            return
        except RPCError as error:
            if error.status not in _BUSY or attempt == START_ATTEMPTS:
                raise
            await asyncio.sleep(2)
        else:
            return


def rss_text(pid: int) -> str:
    return f"{rss_mib(pid):.0f} MB (peak {peak_rss_mib(pid):.0f})"


async def start_paced(
    client: Client,
    runs: int,
    *,
    in_flight: int,
    waiting: str,
    start: Callable[[int], Awaitable[object]],
    say: Say,
    pid: int,
    what: str = "awaiting approval",
    deadline: float = float("inf"),
) -> int:
    """Start runs while fewer than `in_flight` are on their way to the wait (`waiting`
    counts those there): a server handed every run at once spends itself on the backlog
    (the runs still all wait together at the end). Stops at the deadline (monotonic);
    returns how many it started."""
    began = told = time.monotonic()
    started = 0
    while started < runs and time.monotonic() < deadline:
        arrived = await count(client, waiting)
        batch = min(runs - started, in_flight - (started - arrived))
        if batch > 0:
            await asyncio.gather(*(start(started + i) for i in range(batch)))
            started += batch
        if time.monotonic() - told >= PROGRESS_SECONDS:
            told = time.monotonic()
            say(
                f"{started} started, {arrived} {what} after {told - began:.0f} s; "
                f"worker RSS {rss_text(pid)}"
            )
        await asyncio.sleep(POLL_SECONDS)
    return started


async def _drive(
    stack: DevStack, runs: int, *, in_flight: int, concurrency: int, timeout: float, say: Say
) -> ApprovalBench:
    client = await stack.connect()
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    pid = stack.pids()["worker"]
    state = sa.Q2C_STATUS.name
    waiting = (
        f'{state} = "{RunState.AWAITING_APPROVAL.value}" AND WorkflowId STARTS_WITH "{prefix}"'
    )
    # Approved runs post, reconcile and deliver: their last state is Delivered.
    posted = f'{state} = "{RunState.DELIVERED.value}" AND WorkflowId STARTS_WITH "{prefix}"'

    def start(index: int) -> Awaitable[None]:
        input = RunInput(event=bench_event(index), collect=False)
        return start_run(client, input, workflow_id=f"{prefix}-{index}")

    async def approve(index: int) -> object:
        handle = client.get_workflow_handle_for(QuoteToCashWorkflow.run, f"{prefix}-{index}")
        # A loaded server may time an update out; the same update id makes the retry safe.
        for _ in range(5):
            try:
                return await handle.execute_update(
                    QuoteToCashWorkflow.decide,
                    Decision(verdict="approve", approver=APPROVER, comment="bench"),
                    id=f"approve-{index}",
                )
            except WorkflowUpdateRPCTimeoutOrCancelledError:
                await asyncio.sleep(1)
        raise RuntimeError(f"{prefix}-{index}: the approval update kept timing out")

    began = time.monotonic()
    await start_paced(
        client, runs, in_flight=in_flight, waiting=waiting, start=start, say=say, pid=pid
    )
    started = time.monotonic()
    await wait_count(client, waiting, runs, timeout=timeout, say=say, pid=pid)
    all_waiting = time.monotonic()
    rss_waiting = rss_mib(pid)
    say(
        f"all {runs} awaiting approval after {all_waiting - began:.1f} s; "
        f"worker RSS {rss_text(pid)}"
    )

    await _gather_bounded(runs, concurrency, approve)
    approved = time.monotonic()
    await wait_count(client, posted, runs, timeout=timeout, say=say, pid=pid)
    done = time.monotonic()
    return ApprovalBench(
        runs=runs,
        start_seconds=started - began,
        waiting_seconds=all_waiting - began,
        approve_seconds=approved - all_waiting,
        posted_seconds=done - all_waiting,
        worker_peak_rss_mb=peak_rss_mib(pid),
        worker_rss_waiting_mb=rss_waiting,
        cached_workflows=int(stack.env().get("Q2C_MAX_CACHED_WORKFLOWS", "2000")),
    )


def run(
    runs: int,
    *,
    in_flight: int = 500,
    concurrency: int = 50,
    cache: int = 2000,
    timeout: float = 4 * 3600,
    home: Path | None = None,
    say: Say = lambda _: None,
) -> ApprovalBench:
    with tempfile.TemporaryDirectory(prefix="q2c-bench-") as scratch:
        stack = DevStack(
            home=home or Path(scratch),
            ports=Ports.random(),
            extra_env={"Q2C_MAX_CACHED_WORKFLOWS": str(cache), "Q2C_TASK_QUEUE": TASK_QUEUE},
        )
        with stack:
            return asyncio.run(
                _drive(
                    stack,
                    runs,
                    in_flight=in_flight,
                    concurrency=concurrency,
                    timeout=timeout,
                    say=say,
                )
            )
