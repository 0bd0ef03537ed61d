"""`q2c bench payments` end to end with a handful of runs: all wait for payment, figures out."""

from pathlib import Path

from devstack.bench.payments import run


def test_the_payments_bench_reports_the_memory_of_runs_waiting_for_payment(
    tmp_path: Path,
) -> None:
    result = run(3, in_flight=1, cache=10, timeout=180, hold=2, home=tmp_path)
    assert (result.runs, result.started, result.waiting) == (3, 3, 3)
    assert result.complete
    assert result.cache_limit == 10
    assert result.cached == 3  # every waiting run, by the SDK's own gauge
    assert 20 < result.worker_rss_median_mb <= result.worker_rss_peak_mb
    assert result.worker_rss_peak_mb <= result.worker_peak_rss_mb < 1024
    assert result.waiting_seconds >= result.start_seconds > 0


def test_past_its_time_limit_the_bench_reports_the_runs_that_made_it(tmp_path: Path) -> None:
    # Two seconds start at most a batch and see none of it through delivery.
    result = run(50, in_flight=5, cache=10, timeout=2, hold=1, home=tmp_path)
    assert not result.complete
    assert result.started < 50
    assert result.waiting < 50
    assert 20 < result.worker_rss_median_mb < 1024
