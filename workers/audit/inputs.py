"""The audit trail's whole inputs: what a person sent that a run kept only cut, in q2c's own
database beside the handoffs, so it outlives Temporal's history retention."""

from datetime import datetime
from functools import cached_property
from typing import Any, cast

from sqlalchemy import DateTime, LargeBinary, Table, select
from sqlmodel import Field, SQLModel

from schemas.audit import WholeInput
from workers.own_database import OneTableStore, utc


class InputRow(SQLModel, table=True):
    __tablename__ = "q2c_audit_input"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=512)
    workflow_id: str = Field(index=True, max_length=256)
    run_id: str = Field(max_length=64)
    kind: str = Field(max_length=16)
    name: str = Field(max_length=64)
    update_id: str = Field(default="", max_length=256)
    sha256: str = Field(max_length=64)
    size: int
    received_at: datetime = Field(sa_type=DateTime(timezone=True))
    # Bytes, not text: the input is whatever was sent (a NUL, invalid UTF-8).
    data: bytes = Field(sa_type=LargeBinary)


def _table() -> Table:
    return cast(Table, InputRow.__table__)  # type: ignore[attr-defined]


class InputStore(OneTableStore):
    """Keeps each whole input once per key, and reads a run's back."""

    def table(self) -> Table:
        return _table()

    @cached_property
    def _insert(self) -> Any:
        return self.dialect.insert(_table()).on_conflict_do_nothing(index_elements=["key"])

    def keep(self, whole: WholeInput) -> None:
        row = whole.model_dump(mode="python")
        row["received_at"] = utc(row["received_at"])
        with self.engine.begin() as connection:
            connection.execute(self._insert, [row])

    def read(self, workflow_id: str) -> list[WholeInput]:
        columns = _table().c
        query = (
            select(_table())
            .where(columns.workflow_id == workflow_id)
            .order_by(columns.received_at, columns.id)
        )
        with self.engine.connect() as connection:
            found = connection.execute(query).mappings().all()
        kept: list[WholeInput] = []
        for row in found:
            values = dict(row)
            values.pop("id")
            values["received_at"] = utc(values["received_at"])
            kept.append(WholeInput.model_validate(values))
        return kept
