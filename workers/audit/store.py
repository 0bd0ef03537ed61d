"""The audit store: one table, written idempotently, SQLite by default, PostgreSQL by URL.

It is q2c's own database, not a system of record's, and nothing in it expires with
Temporal's history retention.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cached_property
from typing import Any, cast

from sqlalchemy import DateTime, Table, select
from sqlmodel import Field, SQLModel

from schemas.audit import Handoff, Outcome
from workers.own_database import OneTableStore, utc


class AuditRow(SQLModel, table=True):
    __tablename__ = "q2c_audit_handoff"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=512)
    workflow_id: str = Field(index=True, max_length=256)
    run_id: str = Field(max_length=64)
    step: str = Field(max_length=64)
    system: str = Field(max_length=32)
    outcome: str = Field(max_length=32)
    reason_code: str = Field(default="", max_length=64)
    attempt: int = 1
    started_at: datetime = Field(sa_type=DateTime(timezone=True))
    finished_at: datetime = Field(sa_type=DateTime(timezone=True), index=True)
    decided_by: str = Field(default="", max_length=320)
    product_line: str = Field(default="", max_length=64)
    customer_id: str = Field(default="", max_length=64)
    amount: str = Field(default="", max_length=40)
    currency: str = Field(default="", max_length=3)
    detail: str = Field(default="", max_length=500)


def _table() -> Table:
    return cast(Table, AuditRow.__table__)  # type: ignore[attr-defined]


class AuditStore(OneTableStore):
    """Writes handoffs once per key and reads them back for the report."""

    def table(self) -> Table:
        return _table()

    @cached_property
    def _insert(self) -> Any:
        return self.dialect.insert(_table()).on_conflict_do_nothing(index_elements=["key"])

    def record(self, handoffs: Sequence[Handoff]) -> None:
        """Insert each handoff unless its key is already there (a retry writes nothing)."""
        if not handoffs:
            return
        rows = [h.model_dump(mode="python") for h in handoffs]
        for row in rows:
            row["outcome"] = str(row["outcome"])
            row["detail"] = row["detail"][:500]
            row["started_at"] = utc(row["started_at"])
            row["finished_at"] = utc(row["finished_at"])
        # One statement with the rows as parameters: SQLAlchemy compiles it once per engine
        # and reuses it; rows inlined with `.values(rows)` made a new statement to compile
        # (most of a write's CPU) for every batch.
        with self.engine.begin() as connection:
            connection.execute(self._insert, rows)

    def read(self, *, since: datetime | None = None) -> list[Handoff]:
        """Every handoff of the runs that did anything at or after `since`."""
        columns = _table().c
        query = select(_table()).order_by(columns.finished_at, columns.id)
        if since is not None:
            active = select(columns.workflow_id).where(columns.finished_at >= utc(since))
            query = query.where(columns.workflow_id.in_(active))
        with self.engine.connect() as connection:
            found = connection.execute(query).mappings().all()
        return list(_handoffs(found))


def _handoffs(rows: Iterable[Any]) -> Iterable[Handoff]:
    for row in rows:
        values = dict(row)
        values.pop("id")
        values["outcome"] = Outcome(values["outcome"])
        values["started_at"] = utc(values["started_at"])
        values["finished_at"] = utc(values["finished_at"])
        yield Handoff.model_validate(values)
