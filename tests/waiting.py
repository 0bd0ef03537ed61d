"""Waiting in tests: poll until a condition holds, and fail loudly at a deadline.

A loop that counts to a hundred and carries on when the state never came lets the test go on
to check something else, and pass; a wait must either see what it waited for or fail saying so.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T | None]],
    *,
    what: str,
    within: float = 20.0,
    every: float = 0.05,
) -> T:
    """The first result of `probe` that is not None (nor False); AssertionError naming
    `what` if none came within `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        found = await probe()
        if found is not None and found is not False:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not seen within {within:g} s")
        await asyncio.sleep(every)
