"""The delivery log: one row per delivered document, in q2c's own database (beside the
audit trail), SQLite by default, PostgreSQL by URL.

A delivery writes its intent (state `sending`, with the Message-ID it will carry) before it
sends, and `sent` after. See `activities.delivery` for what a retry does in each state.
"""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import DateTime, Engine, Table, event, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, SQLModel, create_engine

from schemas.delivery import DeliveryRecord


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


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything written here is UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _sqlite_pragmas(connection: Any, _record: object) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


class DeliveryLogStore:
    """Keyed by posting key; every write is one statement, safe to repeat."""

    def __init__(self, *, url: str, connect_args: dict[str, Any] | None = None) -> None:
        args = dict(connect_args or {})
        self._sqlite = url.startswith("sqlite")
        if self._sqlite:
            args.setdefault("timeout", 30)  # several worker processes may share the file
        self.engine: Engine = create_engine(url, connect_args=args)
        if self._sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)

    def create(self) -> None:
        database = self.engine.url.database
        if self._sqlite and database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        SQLModel.metadata.create_all(self.engine, tables=[_table()])

    def dispose(self) -> None:
        self.engine.dispose()

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
        values["intent_at"] = _utc(values["intent_at"])
        dialect = sqlite if self._sqlite else postgresql
        table = _table()
        insert = (
            dialect.insert(table)
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
                    state="sent", message_id=message_id, sent_at=_utc(sent_at), reply=reply[:500]
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
    values["intent_at"] = _utc(values["intent_at"])
    if values["sent_at"] is not None:
        values["sent_at"] = _utc(values["sent_at"])
    return DeliveryRecord.model_validate(values)
