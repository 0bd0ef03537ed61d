"""`q2c bench payments`: many runs waiting for payment on one worker; its memory.

A fresh dev stack (Temporal dev server, systems service, outbox, one worker process) under a
temporary home. Every run bills C-1007 (a bank-transfer customer, straight through, net 30)
for one of 60 monthly periods and goes on into collection: posted, delivered, its collection
planned, then waiting on its due-date timer for a payment that does not come. Runs sharing a
period share the ERP posting key (the idempotent path a retried post takes). A waiting run
holds nothing but its place in the workflow cache: the worker's memory is bounded by the
cache, not by the number of runs.
"""

import asyncio
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from devstack.bench.approvals import Say, bench_event, rss_text, start_paced, wait_count
from devstack.bench.memory import peak_rss_mib, rss_mib
from devstack.stack import DevStack, Ports
from schemas.runs import RunInput, RunState
from workflows import search_attributes as sa
from workflows.quote_to_cash import QuoteToCashWorkflow

CONTRACT = "C-1007"
TASK_QUEUE = "q2c-bench"


@dataclass(frozen=True, slots=True)
class PaymentWaitBench:
    runs: int
    start_seconds: float
    waiting_seconds: float
    worker_rss_waiting_mb: float
    worker_peak_rss_mb: float
    cached_workflows: int

    @property
    def waiting_per_second(self) -> float:
        return self.runs / self.waiting_seconds


async def _drive(
    stack: DevStack, runs: int, *, in_flight: int, timeout: float, say: Say
) -> PaymentWaitBench:
    client = await stack.connect()
    prefix = f"bench-pay-{uuid.uuid4().hex[:8]}"
    pid = stack.pids()["worker"]
    state = sa.Q2C_STATUS.name
    waiting = f'{state} = "{RunState.AWAITING_PAYMENT.value}" AND WorkflowId STARTS_WITH "{prefix}"'

    async def start(index: int) -> None:
        # A loaded server may time a start out after taking it: the same id makes the
        # retry safe (it is then already started).
        for _ in range(5):
            try:
                await client.start_workflow(
                    QuoteToCashWorkflow.run,
                    RunInput(
                        event=bench_event(index, contract=CONTRACT, id_prefix="bench-pay"),
                        collect=True,
                    ),
                    id=f"{prefix}-{index}",
                    task_queue=TASK_QUEUE,
                )
                return
            except WorkflowAlreadyStartedError:
                return
            except RPCError:
                await asyncio.sleep(2)
        raise RuntimeError(f"{prefix}-{index}: the start kept timing out")

    began = time.monotonic()
    await start_paced(
        client,
        runs,
        in_flight=in_flight,
        waiting=waiting,
        start=start,
        say=say,
        pid=pid,
        what="awaiting payment",
    )
    started = time.monotonic()
    await wait_count(client, waiting, runs, timeout=timeout, say=say, pid=pid)
    all_waiting = time.monotonic()
    rss_waiting = rss_mib(pid)
    say(
        f"all {runs} awaiting payment after {all_waiting - began:.1f} s; worker RSS {rss_text(pid)}"
    )
    return PaymentWaitBench(
        runs=runs,
        start_seconds=started - began,
        waiting_seconds=all_waiting - began,
        worker_rss_waiting_mb=rss_waiting,
        worker_peak_rss_mb=peak_rss_mib(pid),
        cached_workflows=int(stack.env().get("Q2C_MAX_CACHED_WORKFLOWS", "2000")),
    )


def run(
    runs: int,
    *,
    in_flight: int = 500,
    cache: int = 2000,
    timeout: float = 4 * 3600,
    home: Path | None = None,
    say: Say = lambda _: None,
) -> PaymentWaitBench:
    with tempfile.TemporaryDirectory(prefix="q2c-bench-") as scratch:
        stack = DevStack(
            home=home or Path(scratch),
            ports=Ports.random(),
            extra_env={"Q2C_MAX_CACHED_WORKFLOWS": str(cache), "Q2C_TASK_QUEUE": TASK_QUEUE},
        )
        with stack:
            return asyncio.run(_drive(stack, runs, in_flight=in_flight, timeout=timeout, say=say))
