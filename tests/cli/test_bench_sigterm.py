"""A bench stopped with SIGTERM (as `timeout` and CI runners stop it) takes its stack down
with it: nothing it started stays behind to load the machine for the next measurement."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.processes import alive

REPO = Path(__file__).resolve().parents[2]


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The parent's pid is the second field after the command, which is in parentheses.
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found.add(int(entry.name))
    return found


@pytest.mark.parametrize(
    ("bench_argv", "stop_when"),
    [
        # While the stack is still starting: its systems service has just been spawned.
        (["burst", "-n", "1", "--bursts", "1", "--latency-runs", "1"], "systems.log"),
        # In a phase: the ceiling's worker is running its runs.
        (["close", "--contracts", "20"], "bench-ceiling-0.log"),
    ],
    ids=["burst-while-starting", "close-in-a-phase"],
)
def test_sigterm_stops_the_stack_the_bench_started(
    tmp_path: Path, bench_argv: list[str], stop_when: str
) -> None:
    argv = [sys.executable, "-m", "cli", "bench", *bench_argv, "--home", str(tmp_path)]
    with open(tmp_path / "bench.err", "wb") as err:
        bench = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=err)
    started: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        # The server, the systems service and its outbox, at least, before the bench is stopped.
        while time.monotonic() < deadline and bench.poll() is None:
            started = _children(bench.pid)
            if len(started) >= 3 and (tmp_path / "logs" / stop_when).exists():
                break
            time.sleep(0.2)
        assert len(started) >= 3, f"the bench's stack did not start: {sorted(started)}"
        bench.send_signal(signal.SIGTERM)
        # The burst bench prints the figures of what finished and exits 0; others 143.
        assert bench.wait(timeout=60) in (0, 128 + signal.SIGTERM)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(alive(pid) for pid in started):
            time.sleep(0.2)
        left = sorted(pid for pid in started if alive(pid))
        assert not left, f"processes the bench started are still running: {left}"
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait()
        for pid in started:  # whatever a failed check left running
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
