"""A SIGTERM or Ctrl-C that lands while the stack spawns a part still stops that part: the
stack keeps its handle before the signal is handled. The signal is sent from inside the
spawn, just after the child exists: the only way to land it in that instant every time."""

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from devstack.stack import DevStack, Ports
from tests.processes import alive

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


@pytest.mark.parametrize(
    ("signum", "handler", "raised"),
    [
        (signal.SIGTERM, _exit_on_signal, SystemExit),  # as `q2c bench` handles it
        (signal.SIGINT, signal.default_int_handler, KeyboardInterrupt),  # Ctrl-C
    ],
    ids=["sigterm", "ctrl-c"],
)
def test_a_part_spawned_as_the_signal_lands_is_kept_and_stopped(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    signum: signal.Signals,
    handler: Any,
    raised: type[BaseException],
) -> None:
    children: list[subprocess.Popen[bytes]] = []
    real = subprocess.Popen

    def popen_then_signal(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        child: subprocess.Popen[bytes] = real(*args, **kwargs)
        children.append(child)
        os.kill(os.getpid(), signum)
        return child

    monkeypatch.setattr(subprocess, "Popen", popen_then_signal)  # as devstack.stack calls it
    previous = signal.signal(signum, handler)
    stack = DevStack(home=tmp_path, ports=Ports.random(), encryption=False)
    try:
        with pytest.raises(raised):
            stack.start_process("sleeper", SLEEPER)
        [child] = children
        # The signal was handled after the stack kept the child: it can stop it.
        assert stack.pids() == {"sleeper": child.pid}
        stack.stop()
        assert not alive(child.pid)
    finally:
        signal.signal(signum, previous)
        for child in children:  # whatever a failed check left running
            if child.poll() is None:
                child.kill()
                child.wait()
