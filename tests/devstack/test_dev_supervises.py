"""`q2c dev` supervises its parts: a worker killed with SIGKILL is started again (a log
line says so), and a part it cannot start again ends the stack with a non-zero exit."""

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

Q2C = [sys.executable, "-m", "cli"]
ANY_PORT = ["--temporal-port", "0", "--ui-port", "0", "--systems-port", "0", "--outbox-port", "0"]
ANY_PORT += ["--codec-port", "0", "--intake-port", "0"]

pytestmark = pytest.mark.e2e


class Dev:
    """A `q2c dev` process and the lines it prints, read on a thread."""

    def __init__(self, home: Path) -> None:
        self.home = home
        env = {**os.environ, "Q2C_HOME": str(home), "PYTHONUNBUFFERED": "1"}
        env["Q2C_ENCRYPTION"] = "off"  # one process fewer; encryption is not under test
        self.process = subprocess.Popen(
            [*Q2C, "dev", *ANY_PORT],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line)

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            self.lines.append(line)
            if text in line:
                return
        pytest.fail(f"q2c dev never printed {text!r}; it printed: {''.join(self.lines)}")

    def children(self) -> dict[str, int]:
        """The processes this stack started, by part, found by their Q2C_HOME."""
        found: dict[str, int] = {}
        marker = f"Q2C_HOME={self.home}".encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == self.process.pid:
                continue
            try:
                environ = (entry / "environ").read_bytes().split(b"\0")
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if marker not in environ:
                continue
            if argv[-3:-1] == [b"cli", b"worker"] or argv[-2:] == [b"cli", b"worker"]:
                found["worker"] = int(entry.name)
            elif b"systems" in argv and b"-m" in argv and b"systems.outbox" not in argv:
                found["systems"] = int(entry.name)
        return found

    def wait_for_child(self, name: str, *, other_than: int | None, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid = self.children().get(name)
            if pid is not None and pid != other_than:
                return pid
            time.sleep(0.2)
        pytest.fail(f"no {name} process of q2c dev; it printed: {''.join(self.lines)}")

    def exit_code(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"q2c dev did not exit; it printed: {''.join(self.lines)}")


@contextmanager
def dev(home: Path) -> Iterator[Dev]:
    running = Dev(home)
    try:
        running.wait_for("Ctrl-C stops everything", timeout=120)
        yield running
    finally:
        if running.process.poll() is None:
            running.process.send_signal(signal.SIGINT)
            try:
                running.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                running.process.kill()
                running.process.wait(timeout=10)
        running._reader.join(timeout=10)
        assert running.process.stdout is not None
        running.process.stdout.close()


def test_a_killed_worker_is_started_again_and_the_stack_stays_up(tmp_path: Path) -> None:
    with dev(tmp_path) as stack:
        first = stack.wait_for_child("worker", other_than=None, timeout=30)
        os.kill(first, signal.SIGKILL)
        stack.wait_for("worker exited with -9; starting it again in 1s", timeout=30)
        stack.wait_for("worker started again", timeout=30)
        second = stack.wait_for_child("worker", other_than=first, timeout=30)
        assert second != first
        assert stack.process.poll() is None, "the stack is still up"
        stack.process.send_signal(signal.SIGINT)
        assert stack.exit_code(timeout=60) == 0


def test_a_part_it_cannot_start_again_stops_the_stack_with_exit_one(tmp_path: Path) -> None:
    with dev(tmp_path) as stack:
        systems = stack.wait_for_child("systems", other_than=None, timeout=30)
        worker = stack.wait_for_child("worker", other_than=None, timeout=30)
        os.kill(systems, signal.SIGKILL)
        assert stack.exit_code(timeout=60) == 1
        assert any("systems exited" in line for line in stack.lines + _rest(stack))
        # Everything it started is stopped with it.
        for _ in range(50):
            if not Path(f"/proc/{worker}").exists():
                break
            time.sleep(0.2)
        assert not Path(f"/proc/{worker}").exists() or _zombie(worker)


def _rest(stack: Dev) -> list[str]:
    rest: list[str] = []
    while not stack._queue.empty():
        rest.append(stack._queue.get())
    return rest


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True
