"""Worker memory and CPU time, read from /proc: resident set, its high-water mark, ticks."""

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path


def _status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    raise LookupError(f"/proc/{pid}/status has no {key}")


def children(pid: int) -> list[int]:
    """The process's live children (a worker's render processes), from each thread's list."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:  # the thread ended
            continue
    return found


def _tree(pid: int) -> list[int]:
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        try:
            todo += children(current)
        except OSError:  # it exited
            continue
    return tree


def rss_mib(pid: int) -> float:
    """The resident set of the process and its live children (a worker and its render
    processes are one worker's memory)."""
    return sum(_status_kib(each, "VmRSS") for each in _alive(_tree(pid))) / 1024


def peak_rss_mib(pid: int) -> float:
    """VmHWM: the most the process has held resident since it started (and its children
    theirs, added: at most what they held at once)."""
    return sum(_status_kib(each, "VmHWM") for each in _alive(_tree(pid))) / 1024


def _alive(pids: list[int]) -> list[int]:
    return [pid for pid in pids if Path(f"/proc/{pid}").exists()]


def _own_cpu_seconds(pid: int, *, reaped: bool) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may contain spaces
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    if reaped:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime: children waited for
    return ticks / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used, with its children's: the live ones'
    and those it has waited for (a worker's render processes count as the worker's)."""
    total = _own_cpu_seconds(pid, reaped=True)
    for child in _tree(pid)[1:]:
        try:
            total += _own_cpu_seconds(child, reaped=True)
        except OSError:  # it exited between the two reads
            continue
    return total


@dataclass(frozen=True)
class Window:
    peak_rss_mib: dict[int, float]
    cpu_seconds: float
    """CPU time all the processes used in the window: on a shared machine a steadier cost
    per run than wall-clock throughput."""


@dataclass
class MemorySampler:
    """Samples the resident set and CPU time of some processes on a thread; `window()` closes
    one measuring window and opens the next."""

    pids: list[int]
    interval: float = 0.25
    _peak: dict[int, float] = field(default_factory=dict, init=False)
    _cpu: dict[int, float] = field(default_factory=dict, init=False)
    _cpu_at_window: float = field(default=0.0, init=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def _sample(self) -> None:
        with self._lock:
            for pid in self.pids:
                try:
                    now = rss_mib(pid)
                    self._cpu[pid] = cpu_seconds(pid)
                except (OSError, LookupError, ValueError, IndexError):  # the process exited
                    continue
                self._peak[pid] = max(self._peak.get(pid, 0.0), now)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def start(self) -> None:
        self._sample()
        self._cpu_at_window = sum(self._cpu.values())
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)
        self._thread.start()

    def window(self) -> Window:
        """Peak RSS per process (MiB) and CPU used since the last window; then a new one."""
        self._sample()
        with self._lock:
            peaks, self._peak = self._peak, {}
            cpu = sum(self._cpu.values())
            used, self._cpu_at_window = cpu - self._cpu_at_window, cpu
        return Window(peak_rss_mib=peaks, cpu_seconds=used)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
