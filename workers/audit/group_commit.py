"""Group commit for the audit trail: the handoffs of concurrent activities share one write.

Every activity still waits until its own handoff is committed (or sees the write fail), so
nothing is lost; but while one write is in flight the next ones queue, and go in together.
In a month-end burst that turns hundreds of small transactions, each with its own sync to
disk, into a few large ones.
"""

import asyncio
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from activities.audit import HandoffRecorder
from schemas.audit import Handoff

MAX_BATCH = 500
"""Handoffs per write at most: one statement stays well under SQLite's variable limit."""


@dataclass
class _Waiting:
    handoffs: Sequence[Handoff]
    done: asyncio.Future[None]


class GroupCommit:
    """One writer at a time, on a thread; callers wait on their own batch's outcome."""

    def __init__(self, recorder: HandoffRecorder, *, max_batch: int = MAX_BATCH) -> None:
        if max_batch < 1:
            raise ValueError("max_batch: must be at least 1")
        self._recorder = recorder
        self._max_batch = max_batch
        self._queue: deque[_Waiting] = deque()
        self._writer: asyncio.Task[None] | None = None
        self.writes = 0
        """Writes made so far (each one transaction)."""

    async def record(self, handoffs: Sequence[Handoff]) -> None:
        """Return once `handoffs` are committed; raise what the write raised."""
        if not handoffs:
            return
        waiting = _Waiting(handoffs, asyncio.get_running_loop().create_future())
        # Read the outcome even if the caller was cancelled, so asyncio has nothing to report.
        waiting.done.add_done_callback(lambda done: done.cancelled() or done.exception())
        self._queue.append(waiting)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        # A cancelled caller stops waiting; its rows are still written with the batch.
        await asyncio.shield(waiting.done)

    def _next_batch(self) -> list[_Waiting]:
        batch: list[_Waiting] = []
        size = 0
        while self._queue and (not batch or size + len(self._queue[0].handoffs) <= self._max_batch):
            waiting = self._queue.popleft()
            batch.append(waiting)
            size += len(waiting.handoffs)
        return batch

    async def _drain(self) -> None:
        while self._queue:
            batch = self._next_batch()
            rows = [handoff for waiting in batch for handoff in waiting.handoffs]
            try:
                await asyncio.to_thread(self._recorder.record, rows)
            except Exception as error:  # every caller of the batch sees the failure
                for waiting in batch:
                    waiting.done.set_exception(error)
            except BaseException:  # the worker is stopping: nobody may wait forever
                for waiting in [*batch, *self._queue]:
                    waiting.done.cancel()
                self._queue.clear()
                raise
            else:
                for waiting in batch:
                    waiting.done.set_result(None)
            self.writes += 1
