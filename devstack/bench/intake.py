"""`q2c bench intake`: signed events posted concurrently to a local intake, and what it took.

A fresh dev stack (Temporal, systems, one worker, the intake) on loopback ports; N distinct
billing-cycle events over the seeded contracts, plus D redeliveries of some of them under new
webhook ids. Figures: accepted per second, latency to the 202 (p50, p99), and the time from the
first request until every run has been picked up by the worker. Redeliveries must start nothing.
"""

import asyncio
import json
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from devstack.bench.stats import percentile
from devstack.stack import DevStack, Ports
from starters.intake_http.settings import IntakeSettings
from starters.intake_http.signatures import signed_headers

MAX_EVENTS = 20_000
MAX_CONCURRENCY = 256
CONTRACTS = [f"C-{n}" for n in range(1001, 1009)]
"""Seeded contracts that bill straight through (none waits for approval or fails)."""

Progress = Callable[[str], None]


class BenchError(RuntimeError):
    pass


@dataclass(frozen=True)
class IntakeFigures:
    events: int
    duplicates: int
    concurrency: int
    accepted: int
    seconds_to_accept: float
    accepted_per_second: float
    p50_ms: float
    p99_ms: float
    seconds_until_all_started: float
    runs: int

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _event(index: int) -> dict[str, Any]:
    contract = CONTRACTS[index % len(CONTRACTS)]
    month = index // len(CONTRACTS)
    year, number = 2100 + month // 12, month % 12 + 1
    end = f"{year + number // 12}-{number % 12 + 1:02d}-01"
    return {
        "type": "billing_cycle.closed",
        "event_id": f"evt-bench-{contract}-{year}-{number:02d}",
        "schema_version": 1,
        "occurred_at": f"{end}T00:05:00Z",
        "contract_id": contract,
        "period_start": f"{year}-{number:02d}-01",
        "period_end": end,
    }


async def _post_all(
    url: str, bodies: list[bytes], *, secret: str, concurrency: int
) -> tuple[list[float], int, float]:
    """Latency of each accepted request, how many were accepted, and the seconds it all took."""
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def one(http: httpx.AsyncClient, body: bytes) -> None:
        async with gate:
            headers = signed_headers(secret, f"msg_{uuid.uuid4().hex}", int(time.time()), body)
            headers["Content-Type"] = "application/json"
            began = time.perf_counter()
            response = await http.post("/v1/events", content=body, headers=headers)
            if response.status_code != 202:
                raise BenchError(f"the intake answered {response.status_code}: {response.text}")
            latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        await asyncio.gather(*(one(http, body) for body in bodies))
    return latencies, len(latencies), time.perf_counter() - began


async def run_intake_bench(
    *, events: int, duplicates: int, concurrency: int, say: Progress, timeout: float = 600
) -> IntakeFigures:
    if not 1 <= events <= MAX_EVENTS:
        raise BenchError(f"--events: between 1 and {MAX_EVENTS}")
    if not 0 <= duplicates <= events:
        raise BenchError("--duplicates: between 0 and --events")
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise BenchError(f"--concurrency: between 1 and {MAX_CONCURRENCY}")
    secret = IntakeSettings().webhook_secrets["crm"][0]
    with tempfile.TemporaryDirectory(prefix="q2c-bench-intake-") as home:
        stack = DevStack(
            home=Path(home),
            ports=Ports.random(),
            with_intake=True,
            extra_env={"Q2C_WEBHOOK_SECRETS": json.dumps({"crm": [secret]})},
        )
        say(f"starting the stack in {home}")
        stack.start()
        try:
            return await _measure(stack, events, duplicates, concurrency, secret, say, timeout)
        finally:
            stack.stop()


PICKED_UP = 'Q2CStatus != "Received" OR TemporalChangeVersion IS NOT NULL'
"""A run a worker has begun: its first task records a patch marker (and the SDK lists its
id), though a run that only passes through its steps lists `Received` until it ends."""


async def _measure(
    stack: DevStack,
    events: int,
    duplicates: int,
    concurrency: int,
    secret: str,
    say: Progress,
    timeout: float,
) -> IntakeFigures:
    client = await stack.connect()
    bodies = [json.dumps(_event(i)).encode() for i in range(events)]
    bodies += [bodies[i * events // max(duplicates, 1)] for i in range(duplicates)]
    say(f"posting {events} events and {duplicates} redeliveries, {concurrency} at a time")
    began = time.perf_counter()
    latencies, accepted, seconds = await _post_all(
        stack.intake_url, bodies, secret=secret, concurrency=concurrency
    )
    deadline = time.monotonic() + timeout
    while True:
        picked_up = (await client.count_workflows(PICKED_UP)).count
        if picked_up >= events:
            break
        if time.monotonic() > deadline:
            raise BenchError(f"only {picked_up} of {events} runs started in {timeout}s")
        await asyncio.sleep(0.2)
    until_started = time.perf_counter() - began
    runs = (await client.count_workflows()).count
    if runs != events:
        raise BenchError(f"{runs} runs for {events} distinct events: a redelivery started one")
    return IntakeFigures(
        events=events,
        duplicates=duplicates,
        concurrency=concurrency,
        accepted=accepted,
        seconds_to_accept=round(seconds, 3),
        accepted_per_second=round(accepted / seconds, 1),
        p50_ms=round(percentile(latencies, 50) * 1000, 1),
        p99_ms=round(percentile(latencies, 99) * 1000, 1),
        seconds_until_all_started=round(until_started, 3),
        runs=runs,
    )
