"""The delivery log: one row per delivered document, in q2c's own database (beside the
audit trail), SQLite by default, PostgreSQL by URL.

A delivery writes its intent (state `sending`, with the Message-ID it will carry) before it
sends, and `sent` after. See `activities.delivery` for what a retry does in each state.
"""

from datetime import datetime
from typing import Any, cast

from sqlalchemy import DateTime, Table, select, update
from sqlmodel import Field, SQLModel

from schemas.delivery import DeliveryRecord
from workers.own_database import OneTableStore, utc


class DeliveryRow(SQLModel, table=True):
    __tablename__ = "q2c_delivery"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=512)
    channel: str = Field(max_length=16)
    recipient: str = Field(max_length=320)
    document_id: str = Field(max_length=64)
    run_id: str = Field(default="", max_length=256, index=True)
    message_id: str = Field(max_length=256)
    state: str = Field(max_length=16)
    attempts: int = 1
    intent_at: datetime = Field(sa_type=DateTime(timezone=True))
    sent_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    reply: str = Field(default="", max_length=500)


def _table() -> Table:
    return cast(Table, DeliveryRow.__table__)  # type: ignore[attr-defined]


class DeliveryLogStore(OneTableStore):
    """Keyed by posting key; every write is one statement, safe to repeat."""

    def table(self) -> Table:
        return _table()

    def find(self, key: str) -> DeliveryRecord | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(_table()).where(_table().c.key == key)).first()
        return None if row is None else _record(row._mapping)

    def begin(self, intent: DeliveryRecord) -> DeliveryRecord:
        """Record the intent to send, and return the entry as it now stands.

        A new key is stored as given. A key already `sent` is returned untouched: nothing is
        to be sent. A key left `sending` (an attempt that crashed or failed to reach the
        server) or `failed` (refused, then fixed by a person) is taken up again: its
        recipient is updated and its attempts counted; its Message-ID and intent time stay.
        """
        values = intent.model_dump(exclude={"sent_at"})
        values["intent_at"] = utc(values["intent_at"])
        table = _table()
        insert = (
            self.dialect.insert(table)
            .values(values)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(table.c.id)
        )
        with self.engine.begin() as connection:
            inserted = connection.execute(insert).first() is not None
            if not inserted:
                connection.execute(
                    update(table)
                    .where(table.c.key == intent.key, table.c.state != "sent")
                    .values(
                        state="sending",
                        recipient=intent.recipient,
                        channel=intent.channel,
                        attempts=table.c.attempts + 1,
                    )
                )
            row = connection.execute(select(table).where(table.c.key == intent.key)).one()
        return _record(row._mapping)

    def mark_sent(self, key: str, *, message_id: str, sent_at: datetime, reply: str) -> None:
        table = _table()
        with self.engine.begin() as connection:
            connection.execute(
                update(table)
                .where(table.c.key == key)
                .values(
                    state="sent", message_id=message_id, sent_at=utc(sent_at), reply=reply[:500]
                )
            )

    def mark_failed(self, key: str, *, reply: str) -> None:
        table = _table()
        with self.engine.begin() as connection:
            connection.execute(
                update(table)
                .where(table.c.key == key, table.c.state != "sent")
                .values(state="failed", reply=reply[:500])
            )


def _record(row: Any) -> DeliveryRecord:
    values = dict(row)
    values.pop("id")
    values["intent_at"] = utc(values["intent_at"])
    if values["sent_at"] is not None:
        values["sent_at"] = utc(values["sent_at"])
    return DeliveryRecord.model_validate(values)
