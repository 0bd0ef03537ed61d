"""The stack's random ports come from below the kernel's ephemeral range."""

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack import stack
from devstack.stack import LOWEST_PORT, free_port


def _ephemeral_start() -> int:
    low, _high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    return int(low)


def test_a_free_port_is_below_the_ephemeral_range_and_binds() -> None:
    for _ in range(20):
        port = free_port()
        assert LOWEST_PORT <= port < _ephemeral_start()
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


class _Picks:
    """Hands out the given ports in turn, as `random.Random.randint` would."""

    def __init__(self, ports: list[int]) -> None:
        self._ports: Iterator[int] = iter(ports)

    def randint(self, low: int, high: int) -> int:
        port = next(self._ports)
        assert low <= port <= high
        return port


def test_a_port_in_use_is_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = int(taken.getsockname()[1])
        monkeypatch.setattr(stack, "_ephemeral_start", lambda: 65_000)
        with socket.socket() as probe:  # a port free now, to be picked second
            probe.bind(("127.0.0.1", 0))
            second = int(probe.getsockname()[1])
        monkeypatch.setattr(stack, "_pick", _Picks([busy, second]))
        assert free_port() == second


def test_without_room_below_the_range_the_kernel_picks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stack, "_ephemeral_start", lambda: LOWEST_PORT)
    monkeypatch.setattr(stack, "_pick", _Picks([]))  # never asked
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
