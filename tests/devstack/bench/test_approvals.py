"""`q2c bench approvals` end to end with a handful of runs: figures come out, all posted."""

from pathlib import Path

from devstack.bench.approvals import run


def test_the_approvals_bench_reports_memory_and_throughput(tmp_path: Path) -> None:
    # One run in flight at a time: every start after the first waits for the pacing.
    result = run(3, in_flight=1, concurrency=3, cache=10, timeout=120, home=tmp_path)
    assert result.runs == 3
    assert result.cached_workflows == 10
    assert 20 < result.worker_rss_waiting_mb <= result.worker_peak_rss_mb < 1024
    assert result.approvals_per_second > 0 and result.posted_per_second > 0
    assert result.waiting_seconds >= result.start_seconds
