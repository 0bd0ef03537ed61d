"""`q2c bench payments` end to end with a handful of runs: all wait for payment, figures out."""

from pathlib import Path

from devstack.bench.payments import run


def test_the_payments_bench_reports_the_memory_of_runs_waiting_for_payment(
    tmp_path: Path,
) -> None:
    result = run(3, in_flight=1, cache=10, timeout=180, home=tmp_path)
    assert result.runs == 3
    assert result.cached_workflows == 10
    assert 20 < result.worker_rss_waiting_mb <= result.worker_peak_rss_mb < 1024
    assert result.waiting_seconds >= result.start_seconds > 0
