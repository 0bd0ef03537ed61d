"""Worker memory, read from /proc: resident set now and its high-water mark."""

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


@dataclass
class MemorySampler:
    """Samples the resident set of some processes on a thread; `window()` starts a new peak."""

    pids: list[int]
    interval: float = 0.25
    _peak: dict[int, float] = field(default_factory=dict, init=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def _sample(self) -> None:
        with self._lock:
            for pid in self.pids:
                try:
                    now = rss_mib(pid)
                except (OSError, LookupError):  # the process has exited
                    continue
                self._peak[pid] = max(self._peak.get(pid, 0.0), now)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def start(self) -> None:
        self._sample()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)
        self._thread.start()

    def window(self) -> dict[int, float]:
        """Peak RSS per process since the last window, in MiB; then start a new window."""
        self._sample()
        with self._lock:
            peaks, self._peak = self._peak, {}
        return peaks

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
