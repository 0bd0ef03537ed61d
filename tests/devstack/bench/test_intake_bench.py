"""`q2c bench intake` on a small load: every event accepted, redeliveries start nothing."""

import pytest

from devstack.bench.intake import BenchError, run_intake_bench

pytestmark = [pytest.mark.e2e]


async def test_a_small_intake_bench_starts_one_run_per_distinct_event() -> None:
    figures = await run_intake_bench(events=24, duplicates=6, concurrency=8, say=lambda _: None)
    assert (figures.accepted, figures.runs) == (30, 24)
    assert figures.p50_ms <= figures.p99_ms
    assert figures.seconds_until_all_started > 0


@pytest.mark.parametrize(
    ("events", "duplicates", "concurrency", "field"),
    [(0, 0, 1, "--events"), (10, 11, 1, "--duplicates"), (10, 0, 1000, "--concurrency")],
)
async def test_the_bench_is_bounded(
    events: int, duplicates: int, concurrency: int, field: str
) -> None:
    with pytest.raises(BenchError, match=field):
        await run_intake_bench(
            events=events, duplicates=duplicates, concurrency=concurrency, say=lambda _: None
        )
