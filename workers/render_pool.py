"""Processes beside the worker that render and check e-invoices.

Rendering a document (UBL, CII, both EN 16931 rule sets in Saxon, the PDF/A-3) is the
largest share of a run's CPU in the worker, and in a thread it holds the interpreter lock
while the same process runs workflow tasks. In processes of their own it runs on the other
core. The processes are spawned (not forked: the worker has the Temporal runtime's threads),
each compiles the stylesheets once at start, and a pool whose process died (killed, out of
memory) is replaced: the call that found it broken fails as a retryable error, the next one
runs in a new process. A render process whose worker died (SIGKILL leaves it no time to shut
its pool down) ends itself within a second rather than idling on as an orphan.
"""

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from billing.einvoice import warm_up

T = TypeVar("T")
log = logging.getLogger(__name__)
PARENT_CHECK_SECONDS = 0.5
"""How often a render process checks that its worker is alive."""


class RenderProcessLost(RuntimeError):
    """A render process died under a call; the call may be tried again."""


class RenderPool:
    """`processes` spawned processes; use as an async context manager (started and warmed
    on entry, shut down on exit)."""

    def __init__(self, processes: int) -> None:
        if processes < 1:
            raise ValueError(f"processes: at least 1, got {processes}")
        self._processes = processes
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self._processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_render_process,
            initargs=(os.getpid(),),
        )

    async def __aenter__(self) -> "RenderPool":
        # Every process started and its stylesheets compiled before the first delivery.
        await asyncio.gather(*(self.run(_ready) for _ in range(self._processes)))
        return self

    async def __aexit__(self, *_: object) -> None:
        await asyncio.to_thread(self._pool.shutdown, wait=True, cancel_futures=True)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in a render process (both picklable, `fn` at a module's top level)."""
        pool = self._pool
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)
        except BrokenProcessPool as error:
            if self._pool is pool:  # the first call to find it broken replaces it
                log.warning("a render process died (%s): starting a new pool", error)
                self._pool = self._new_pool()
                pool.shutdown(wait=False, cancel_futures=True)
            raise RenderProcessLost(f"a render process died under the call: {error}") from None

    def pids(self) -> list[int]:
        """The live render processes' ids (for a test or a benchmark)."""
        return [p.pid for p in list(self._pool._processes.values()) if p.pid is not None]


def _ready() -> None:
    """Nothing: run once in each process to start it (the initializer compiles the rules)."""


def _start_render_process(worker: int) -> None:
    """In each new render process: end with the worker, then compile the rules."""
    threading.Thread(target=_end_with, args=(worker,), name="end-with-worker", daemon=True).start()
    warm_up()


def _end_with(worker: int) -> None:
    # An orphan is adopted by another process: its parent id changes.
    while os.getppid() == worker:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)
