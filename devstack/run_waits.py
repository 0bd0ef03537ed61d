"""Waiting for a run to reach a state, by its `status` query, with a deadline that fails
loudly: what recording histories and the demo's scenarios wait on."""

import asyncio
import time
from collections.abc import Callable

from temporalio.client import WorkflowHandle

from schemas.runs import RunState, RunStatus

Handle = WorkflowHandle[object, RunStatus]


async def until(
    handle: Handle, check: Callable[[RunStatus], bool], what: str, timeout: float = 60.0
) -> RunStatus:
    """The run's status once `check` holds; RuntimeError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    status: RunStatus | None = None
    while time.monotonic() < deadline:
        try:
            status = await handle.query("status", result_type=RunStatus)
        except Exception:  # the first workflow task may not have run yet
            status = None
        if status is not None and check(status):
            return status
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{handle.id}: {what} never happened: {status}")


async def wait_for_state(handle: Handle, state: RunState, timeout: float = 60.0) -> RunStatus:
    """The run's status once it is in `state`."""
    return await until(handle, lambda s: s.state is state, f"reaching {state.value}", timeout)
