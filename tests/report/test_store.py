"""The audit store on SQLite and PostgreSQL: a round trip, and a second write changes nothing."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from schemas.audit import Outcome
from tests.report.trail import NOW, SINCE, known_trail
from workers.audit.store import AuditStore
from workers.report.figures import compute

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AuditStore]:
    if request.param == "sqlite":
        audit = AuditStore(url=f"sqlite:///{tmp_path / 'nested' / 'audit.db'}")
        audit.create()
        yield audit
        audit.dispose()
        return
    schema = f"q2c_audit_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    audit = AuditStore(url=POSTGRES, connect_args={"options": f"-csearch_path={schema}"})
    try:
        audit.create()
        yield audit
    finally:
        audit.dispose()
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_round_trip_keeps_every_field(store: AuditStore) -> None:
    trail = known_trail()
    store.record(trail)
    assert sorted(store.read(), key=lambda h: h.key) == sorted(trail, key=lambda h: h.key)


def test_a_second_write_of_the_same_handoffs_changes_nothing(store: AuditStore) -> None:
    trail = known_trail()
    store.record(trail)
    changed = [h.model_copy(update={"outcome": Outcome.FAILURE, "attempt": 2}) for h in trail]
    store.record(changed)
    store.record(trail[:3])
    stored = store.read()
    assert len(stored) == len(trail)
    assert {h.outcome for h in stored if h.key == trail[0].key} == {trail[0].outcome}


def test_figures_from_the_database_match_the_figures_from_memory(store: AuditStore) -> None:
    store.record(known_trail())
    from_db = compute(store.read(since=SINCE), now=NOW, since=SINCE)
    assert from_db == compute(known_trail(), now=NOW, since=SINCE)


def test_reading_since_a_day_skips_runs_quiet_since_then(store: AuditStore) -> None:
    store.record(known_trail())
    workflows = {h.workflow_id for h in store.read(since=SINCE)}
    assert "R10" not in workflows
    assert {"R1", "R11"} <= workflows


def test_nothing_to_write_is_fine(store: AuditStore) -> None:
    store.record([])
    assert store.read() == []
