"""A process started while Temporal is down retries its connection, then gives up."""

import asyncio
import time

import pytest

from devstack.stack import free_port
from workers.client import connect_patiently


async def test_an_unreachable_server_is_retried_until_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", f"127.0.0.1:{free_port()}")  # nothing listens there
    started = time.monotonic()
    with pytest.raises(RuntimeError):
        await asyncio.wait_for(connect_patiently(within=1.5), timeout=30)
    # One try at once, then one a second until 1.5 s have passed: at least two retries.
    assert time.monotonic() - started >= 1.5
