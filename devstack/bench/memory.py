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


def rss_mib(pid: int) -> float:
    return _status_kib(pid, "VmRSS") / 1024


def peak_rss_mib(pid: int) -> float:
    """VmHWM: the most the process has held resident since it started."""
    return _status_kib(pid, "VmHWM") / 1024


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used (fields 14 and 15 of /proc/pid/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may contain spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
