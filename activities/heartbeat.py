"""Heartbeats around long calls, so a dead worker's activity is retried within seconds.

A call to a slow system can take longer than the heartbeat timeout; a task beats on its
behalf while the call runs. Heartbeats also carry cancellation: a worker that drains on
SIGTERM can cancel an activity only while it heartbeats.

The first beat waits one interval: a heartbeat is a call to the server and a write to its
database, and the usual call ends long before the timeout, so it needs none.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import timedelta

from temporalio import activity

DEFAULT_INTERVAL = timedelta(seconds=2)


def _interval() -> float:
    timeout = activity.info().heartbeat_timeout
    if not timeout:
        return DEFAULT_INTERVAL.total_seconds()
    # Three beats per timeout: one lost or throttled beat never times the activity out.
    return max(timeout.total_seconds() / 3, 0.1)


async def _beat(every: float) -> None:
    while True:
        await asyncio.sleep(every)
        activity.heartbeat()


@asynccontextmanager
async def heartbeating() -> AsyncIterator[None]:
    """Heartbeat until the block ends; outside an activity (plain tests) do nothing."""
    try:
        every = _interval()
    except RuntimeError:  # not in an activity context
        yield
        return
    task = asyncio.create_task(_beat(every))
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
