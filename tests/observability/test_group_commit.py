"""Group commit on the real audit store: concurrent handoffs share a write, each lands once,
and a failed write reaches every caller of its batch."""

import asyncio

import pytest
from sqlalchemy.exc import OperationalError

from tests.ops.report.trail import known_trail
from workers.audit.group_commit import GroupCommit
from workers.audit.store import AuditStore


async def test_concurrent_handoffs_share_one_write_and_each_lands(
    audit_store: AuditStore,
) -> None:
    trail = known_trail()
    commits = GroupCommit(audit_store)
    await asyncio.gather(*(commits.record([handoff]) for handoff in trail))
    assert commits.writes == 1
    assert sorted(h.key for h in audit_store.read()) == sorted(h.key for h in trail)


async def test_a_retry_in_the_same_batch_as_its_first_attempt_lands_once(
    audit_store: AuditStore,
) -> None:
    trail = known_trail()[:4]
    commits = GroupCommit(audit_store)
    await asyncio.gather(*(commits.record([handoff]) for handoff in [*trail, *trail]))
    assert commits.writes == 1
    assert len(audit_store.read()) == len(trail)


async def test_batches_stay_under_the_limit(audit_store: AuditStore) -> None:
    trail = known_trail()[:10]
    commits = GroupCommit(audit_store, max_batch=3)
    await asyncio.gather(*(commits.record([handoff]) for handoff in trail))
    assert commits.writes == 4  # the first write takes 3, then 3, 3 and 1
    assert len(audit_store.read()) == 10


async def test_a_caller_that_stops_waiting_still_has_its_handoff_written(
    audit_store: AuditStore,
) -> None:
    first, second = known_trail()[:2]
    commits = GroupCommit(audit_store)
    gone = asyncio.create_task(commits.record([first]))
    await asyncio.sleep(0)  # queued, and the write has begun
    gone.cancel()
    await commits.record([second])
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert {h.key for h in audit_store.read()} == {first.key, second.key}


async def test_a_failed_write_reaches_every_caller_of_its_batch() -> None:
    # A database nobody listens on: a real connection failure, not a stand-in.
    unreachable = AuditStore(
        url="postgresql+psycopg://postgres@127.0.0.1:9/test",
        connect_args={"connect_timeout": 2},
    )
    commits = GroupCommit(unreachable)
    outcomes = await asyncio.gather(
        *(commits.record([handoff]) for handoff in known_trail()[:5]), return_exceptions=True
    )
    assert len(outcomes) == 5
    assert all(isinstance(outcome, OperationalError) for outcome in outcomes)
    unreachable.dispose()


async def test_nothing_to_record_writes_nothing(audit_store: AuditStore) -> None:
    commits = GroupCommit(audit_store)
    await commits.record([])
    assert commits.writes == 0


def test_a_batch_limit_below_one_is_refused(audit_store: AuditStore) -> None:
    with pytest.raises(ValueError, match="max_batch: must be at least 1"):
        GroupCommit(audit_store, max_batch=0)
