"""The audit store on SQLite and PostgreSQL: a round trip, and a second write changes nothing."""

from ops.report.figures import compute
from schemas.audit import Outcome
from tests.ops.report.trail import NOW, SINCE, known_trail
from workers.audit.store import AuditStore


def test_round_trip_keeps_every_field(audit_store: AuditStore) -> None:
    trail = known_trail()
    audit_store.record(trail)
    assert sorted(audit_store.read(), key=lambda h: h.key) == sorted(trail, key=lambda h: h.key)


def test_a_second_write_of_the_same_handoffs_changes_nothing(audit_store: AuditStore) -> None:
    trail = known_trail()
    audit_store.record(trail)
    changed = [h.model_copy(update={"outcome": Outcome.FAILURE, "attempt": 2}) for h in trail]
    audit_store.record(changed)
    audit_store.record(trail[:3])
    stored = audit_store.read()
    assert len(stored) == len(trail)
    assert {h.outcome for h in stored if h.key == trail[0].key} == {trail[0].outcome}


def test_figures_from_the_database_match_the_figures_from_memory(audit_store: AuditStore) -> None:
    audit_store.record(known_trail())
    from_db = compute(audit_store.read(since=SINCE), now=NOW, since=SINCE)
    assert from_db == compute(known_trail(), now=NOW, since=SINCE)


def test_reading_since_a_day_skips_runs_quiet_since_then(audit_store: AuditStore) -> None:
    audit_store.record(known_trail())
    workflows = {h.workflow_id for h in audit_store.read(since=SINCE)}
    assert "R10" not in workflows
    assert {"R1", "R11"} <= workflows


def test_nothing_to_write_is_fine(audit_store: AuditStore) -> None:
    audit_store.record([])
    assert audit_store.read() == []
