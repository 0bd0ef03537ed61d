"""Figures for a set of runs: throughput and latency percentiles."""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from devstack.bench.memory import Window


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile: the smallest value with at least pct% of values at or below."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Figures:
    runs: int
    ok: int
    seconds: float
    runs_per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    peak_rss_mib: float
    """The largest peak resident set of any one worker process during the phase."""
    total_rss_mib: float
    """The peaks of all worker processes added up."""
    worker_cpu_ms_per_run: float
    server_cpu_ms_per_run: float = 0.0
    """The Temporal dev server's CPU time in the phase, per run."""
    systems_cpu_ms_per_run: float = 0.0
    """The systems service's CPU time in the phase, per run."""
    outbox_cpu_ms_per_run: float = 0.0
    """The SMTP server's (the customers' inbox) CPU time in the phase, per run."""

    @classmethod
    def of(
        cls,
        *,
        latencies: Sequence[float],
        ok: int,
        seconds: float,
        workers: Window,
        stack_cpu_seconds: Mapping[str, float] | None = None,
    ) -> "Figures":
        """`stack_cpu_seconds`: CPU time the `temporal`, `systems` and `outbox` processes
        used."""
        rss = workers.peak_rss_mib
        stack = stack_cpu_seconds or {}

        def per_run(cpu: float) -> float:
            return round(cpu * 1000 / len(latencies), 1)

        return cls(
            runs=len(latencies),
            ok=ok,
            seconds=round(seconds, 3),
            runs_per_second=round(len(latencies) / seconds, 2) if seconds > 0 else 0.0,
            p50_ms=round(percentile(latencies, 50) * 1000, 1),
            p95_ms=round(percentile(latencies, 95) * 1000, 1),
            p99_ms=round(percentile(latencies, 99) * 1000, 1),
            peak_rss_mib=round(max(rss.values(), default=0.0), 1),
            total_rss_mib=round(sum(rss.values()), 1),
            worker_cpu_ms_per_run=per_run(workers.cpu_seconds),
            server_cpu_ms_per_run=per_run(stack.get("temporal", 0.0)),
            systems_cpu_ms_per_run=per_run(stack.get("systems", 0.0)),
            outbox_cpu_ms_per_run=per_run(stack.get("outbox", 0.0)),
        )
