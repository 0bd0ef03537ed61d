"""Percentiles and figures: nearest rank, as the report states them."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devstack.bench.memory import Window
from devstack.bench.stats import Figures, percentile


def test_nearest_rank_percentiles_of_one_to_a_hundred() -> None:
    values = [float(v) for v in range(100, 0, -1)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 99) == 99.0


def test_a_single_value_is_every_percentile() -> None:
    assert percentile([0.25], 50) == percentile([0.25], 99) == 0.25


def test_no_values_is_an_error() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)


@given(st.lists(st.floats(min_value=0, max_value=1e6), min_size=1), st.floats(0, 100))
def test_a_percentile_is_one_of_the_values_and_ordered(values: list[float], pct: float) -> None:
    found = percentile(values, pct)
    assert found in values
    assert percentile(values, 0) <= found <= percentile(values, 100) == max(values)


def test_figures_in_milliseconds_and_runs_per_second() -> None:
    figures = Figures.of(
        latencies=[0.1, 0.2, 0.3, 0.4],
        ok=4,
        seconds=2.0,
        workers=Window(peak_rss_mib={1: 100.0, 2: 50.0}, cpu_seconds=0.2),
        stack_cpu_seconds={"temporal": 0.4, "systems": 0.1},
    )
    assert figures.runs_per_second == 2.0
    assert figures.p50_ms == 200.0
    assert figures.p99_ms == 400.0
    assert figures.peak_rss_mib == 100.0
    assert figures.total_rss_mib == 150.0
    assert figures.worker_cpu_ms_per_run == 50.0
    assert (figures.server_cpu_ms_per_run, figures.systems_cpu_ms_per_run) == (100.0, 25.0)
