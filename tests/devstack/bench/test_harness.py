"""The whole harness at N = 3 on a real stack: it runs and reports; no speed is asserted."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import build_app
from devstack.bench.ceiling import STEPS
from devstack.bench.harness import BenchConfig, run_bench
from devstack.bench.memory import MemorySampler, cpu_seconds, peak_rss_mib, rss_mib


async def test_a_tiny_burst_reports_every_phase(tmp_path: Path) -> None:
    said: list[str] = []
    report = await run_bench(
        BenchConfig(home=tmp_path, runs=3, bursts=2, latency_runs=1), say=said.append
    )
    assert [f.ok for f in report.ceiling_bursts] == [3, 3]
    assert [f.ok for f in report.q2c_bursts] == [3, 3]  # every run posted straight through
    assert [f.ok for f in report.plain_bursts] == [3, 3]  # and with encryption off
    assert report.plain_latency is not None and report.plain_latency.ok == 1
    assert report.ceiling_latency is not None and report.ceiling_latency.ok == 1
    assert report.q2c_latency is not None and report.q2c_latency.ok == 1
    for figures in [*report.ceiling_bursts, *report.plain_bursts, *report.q2c_bursts]:
        assert figures.runs_per_second > 0
        assert 0 < figures.p50_ms <= figures.p95_ms <= figures.p99_ms
        assert figures.peak_rss_mib > 0
        assert figures.worker_cpu_ms_per_run > 0
        assert figures.server_cpu_ms_per_run > 0
    assert all(figures.systems_cpu_ms_per_run > 0 for figures in report.q2c_bursts)
    assert set(report.ratios()) == {
        "burst_throughput_q2c_over_ceiling",
        "burst_p50_q2c_over_ceiling",
        "latency_p50_q2c_over_ceiling",
        "q2c_memory_last_over_first_burst",
        "codec_on_over_off_throughput",
        "codec_on_over_off_burst_p50",
        "codec_on_over_off_latency_p50",
    }
    straight = report.histories["straight_through"]
    approved = report.histories["approved"]
    # Rating, tax and routing run as local activities; the ceiling has a no-op for each step.
    assert straight.activities == [
        "validate_customer",
        "fetch_usage",
        "fetch_route_history",
        "post_invoice",
        "reconcile",
        "deliver_document",
        "record_handoff",
    ]
    assert len(straight.activities) + straight.local_activities == STEPS
    assert len(report.histories["ceiling"].activities) == STEPS
    assert approved.by_type["workflow_execution_signaled"] == 1
    assert approved.actions > straight.actions > STEPS
    assert report.complete and report.as_json()["stopped"] == ""
    json.dumps(report.as_json())  # machine-readable as a whole
    assert any("q2c burst 2" in line for line in said)
    assert any("q2c codec off burst 2" in line for line in said)


async def test_a_deadline_ends_the_bench_with_the_figures_of_what_finished(
    tmp_path: Path,
) -> None:
    """An outer `timeout` used to kill the bench and every figure with it; its own deadline
    stops it, keeps what finished and says where it stopped."""
    said: list[str] = []
    began = time.monotonic()
    report = await run_bench(
        BenchConfig(
            home=tmp_path, runs=3, bursts=1, latency_runs=1, codec_off=False, deadline_seconds=5
        ),
        say=said.append,
    )
    # The stack's own start (bounded by its own waits) comes before the deadline's 5 s.
    assert time.monotonic() - began < 5 + 180
    assert not report.complete
    assert report.stopped.startswith("the 5s deadline ended the bench in its ")
    assert report.stopped.endswith(f"{report.phase} phase")
    assert report.phase in {"seeding", "ceiling", "q2c", "histories"}
    assert said[-1] == report.stopped
    assert all(figures.ok == 3 for figures in [*report.ceiling_bursts, *report.q2c_bursts])
    assert json.loads(json.dumps(report.as_json()))["stopped"] == report.stopped


def _processes_under(home: Path) -> list[int]:
    """Processes whose command line names `home` (the stack's server, systems, workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and str(home) in (entry / "cmdline").read_text():
                found.append(int(entry.name))
        except OSError:
            pass  # ended while we looked
    return found


def test_sigterm_stops_the_stack_and_prints_the_figures_of_what_finished(tmp_path: Path) -> None:
    """An outer `timeout` sends SIGTERM: the bench used to die at once, its figures lost and
    its dev server and workers left running the bursts."""
    home = tmp_path / "home"
    argv = [sys.executable, "-m", "cli", "bench", "burst", "-n", "3", "--bursts", "1"]
    argv += ["--latency-runs", "1", "--no-codec-off", "--json", "--home", str(home)]
    bench = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert bench.stderr is not None
    for line in bench.stderr:  # the stack is up once it seeds
        if "seeding" in line:
            break
    bench.send_signal(signal.SIGTERM)
    out, _ = bench.communicate(timeout=120)
    assert bench.returncode == 1
    report = json.loads(out)
    assert report["stopped"].startswith("SIGTERM ended the bench in its ")
    assert _processes_under(home) == []


def test_bad_scale_names_the_field(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="runs: must be at least 1"):
        BenchConfig(home=tmp_path, runs=0)
    with pytest.raises(ValueError, match="bursts: must be 1 to 8"):
        BenchConfig(home=tmp_path, bursts=9)
    with pytest.raises(ValueError, match="deadline_seconds: must be more than 0"):
        BenchConfig(home=tmp_path, deadline_seconds=0)


def test_the_cli_refuses_an_unknown_knob_before_starting_anything() -> None:
    result = CliRunner().invoke(build_app(), ["bench", "burst", "--knob", "pollers=3"])
    # A usage error (2), not an uncaught exception (1) that would also be non-zero.
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "pollers=3" in result.stderr


def test_the_cli_refuses_a_bad_knob_value() -> None:
    result = CliRunner().invoke(
        build_app(), ["bench", "burst", "--knob", "workflow_task_pollers=0"]
    )
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "workflow_task_pollers" in result.stderr


def test_memory_of_this_process_is_read_from_proc() -> None:
    pid = os.getpid()
    assert 0 < rss_mib(pid) <= peak_rss_mib(pid)
    sampler = MemorySampler(pids=[pid, 2**22 + 1])  # the second pid does not exist
    sampler.start()
    busy_until = cpu_seconds(pid) + 0.05
    while cpu_seconds(pid) < busy_until:  # some CPU time to see, at clock-tick resolution
        pass
    window = sampler.window()
    sampler.stop()
    assert set(window.peak_rss_mib) == {pid}
    assert 0 < window.cpu_seconds <= cpu_seconds(pid)
