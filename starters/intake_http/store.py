"""The intake's tables in q2c's own database: request log, deliveries, dead letters, unapplied
cash. SQLite by default, PostgreSQL by URL, the same database as the audit trail.

Every write is one short transaction; the service calls these from a thread.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import DateTime, Engine, Table, event, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, SQLModel, create_engine


class IntakeRequest(SQLModel, table=True):
    """One event of one request (or the request itself when it names no event)."""

    __tablename__ = "q2c_intake_request"

    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime = Field(sa_type=DateTime(timezone=True), index=True)
    source: str = Field(default="", max_length=64, index=True)
    webhook_id: str = Field(default="", max_length=255)
    event_id: str = Field(default="", max_length=200)
    event_type: str = Field(default="", max_length=64)
    status: int
    outcome: str = Field(max_length=32)
    workflow_id: str = Field(default="", max_length=256)
    latency_ms: float
    detail: str = Field(default="", max_length=500)


class IntakeDelivery(SQLModel, table=True):
    """The answer to a webhook id, given again when the sender retries it."""

    __tablename__ = "q2c_intake_delivery"

    key: str = Field(primary_key=True, max_length=330)
    body_digest: str = Field(max_length=64)
    status: int
    response: str
    created_at: datetime = Field(sa_type=DateTime(timezone=True))


class DeadLetter(SQLModel, table=True):
    """An event that validated but could not start its run, with the reason."""

    __tablename__ = "q2c_intake_dead_letter"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=330, description="workflow id and event digest")
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    source: str = Field(max_length=64)
    webhook_id: str = Field(max_length=255)
    event_id: str = Field(max_length=200)
    event_type: str = Field(max_length=64)
    workflow_id: str = Field(max_length=256)
    reason: str = Field(max_length=64)
    detail: str = Field(default="", max_length=500)
    event: str = Field(description="The internal event as JSON")
    redriven_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    redrive_outcome: str = Field(default="", max_length=500)


class UnappliedCash(SQLModel, table=True):
    """A payment or dispute event that no run took: kept until someone applies it."""

    __tablename__ = "q2c_unapplied_cash"

    id: int | None = Field(default=None, primary_key=True)
    business_key: str = Field(unique=True, max_length=330)
    digest: str = Field(max_length=64)
    received_at: datetime = Field(sa_type=DateTime(timezone=True))
    source: str = Field(max_length=64)
    webhook_id: str = Field(max_length=255)
    event_id: str = Field(max_length=200)
    event_type: str = Field(max_length=64)
    posting_key: str = Field(default="", max_length=255)
    invoice_number: str = Field(default="", max_length=100)
    workflow_id: str = Field(default="", max_length=256, description="The owning run, if any")
    amount: str = Field(max_length=40)
    currency: str = Field(max_length=3)
    reason: str = Field(max_length=64)
    event: str


TABLES = (IntakeRequest, IntakeDelivery, DeadLetter, UnappliedCash)


def _table(model: type[SQLModel]) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


def utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything written here is UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _sqlite_pragmas(connection: Any, _record: object) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode a commit is in the file once written: a killed process loses nothing; only
    # a power cut may lose the last commits, which the senders then retry.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@dataclass(frozen=True)
class StoredDelivery:
    body_digest: str
    status: int
    response: str


class IntakeStore:
    def __init__(self, *, url: str, connect_args: dict[str, Any] | None = None) -> None:
        args = dict(connect_args or {})
        self._sqlite = url.startswith("sqlite")
        if self._sqlite:
            args.setdefault("timeout", 30)
        self.engine: Engine = create_engine(url, connect_args=args)
        if self._sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)

    def create(self) -> None:
        database = self.engine.url.database
        if self._sqlite and database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        SQLModel.metadata.create_all(self.engine, tables=[_table(m) for m in TABLES])

    def dispose(self) -> None:
        self.engine.dispose()

    def _insert_once(self, model: type[SQLModel], values: dict[str, Any], key: str) -> bool:
        """Insert unless a row with the same `key` column exists; True if this one did."""
        dialect = sqlite if self._sqlite else postgresql
        statement = (
            dialect.insert(_table(model))
            .values(values)
            .on_conflict_do_nothing(index_elements=[key])
        )
        with self.engine.begin() as connection:
            return bool(connection.execute(statement).rowcount)

    # Deliveries: one answer per source and webhook id.

    def delivery(self, key: str) -> StoredDelivery | None:
        with self.engine.connect() as connection:
            row = (
                connection.execute(
                    select(_table(IntakeDelivery)).where(_table(IntakeDelivery).c.key == key)
                )
                .mappings()
                .first()
            )
        if row is None:
            return None
        return StoredDelivery(row["body_digest"], row["status"], row["response"])

    def remember(self, key: str, *, body_digest: str, status: int, response: str) -> None:
        values = {
            "key": key,
            "body_digest": body_digest,
            "status": status,
            "response": response,
            "created_at": datetime.now(UTC),
        }
        self._insert_once(IntakeDelivery, values, "key")

    # The request log.

    def log(self, rows: Sequence[IntakeRequest]) -> None:
        if not rows:
            return
        values = [row.model_dump(exclude={"id"}) for row in rows]
        for value in values:
            value["detail"] = value["detail"][:500]
        with self.engine.begin() as connection:
            connection.execute(_table(IntakeRequest).insert(), values)

    def requests(self, *, since: datetime | None = None) -> list[IntakeRequest]:
        columns = _table(IntakeRequest).c
        query = select(_table(IntakeRequest)).order_by(columns.received_at, columns.id)
        if since is not None:
            query = query.where(columns.received_at >= utc(since))
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        found = [IntakeRequest.model_validate(dict(row)) for row in rows]
        for row in found:
            row.received_at = utc(row.received_at)
        return found

    # Dead letters.

    def dead_letter(self, letter: DeadLetter) -> int:
        """Store it once per event (a retried delivery adds nothing); its id."""
        self._insert_once(DeadLetter, letter.model_dump(exclude={"id"}), "key")
        with self.engine.connect() as connection:
            found = connection.execute(
                select(_table(DeadLetter).c.id).where(_table(DeadLetter).c.key == letter.key)
            ).scalar_one()
        return int(found)

    def dead_letters(self, *, include_redriven: bool = False) -> list[DeadLetter]:
        columns = _table(DeadLetter).c
        query = select(_table(DeadLetter)).order_by(columns.id)
        if not include_redriven:
            query = query.where(columns.redriven_at.is_(None))
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [_dead_letter(row) for row in rows]

    def get_dead_letter(self, letter_id: int) -> DeadLetter | None:
        with self.engine.connect() as connection:
            row = (
                connection.execute(
                    select(_table(DeadLetter)).where(_table(DeadLetter).c.id == letter_id)
                )
                .mappings()
                .first()
            )
        return None if row is None else _dead_letter(row)

    def redriven(self, letter_id: int, *, outcome: str, done: bool) -> None:
        """Record a redrive's outcome; `done` closes the letter."""
        values: dict[str, Any] = {"redrive_outcome": outcome[:500]}
        if done:
            values["redriven_at"] = datetime.now(UTC)
        with self.engine.begin() as connection:
            connection.execute(
                update(_table(DeadLetter))
                .where(_table(DeadLetter).c.id == letter_id)
                .values(values)
            )

    # Unapplied cash.

    def unapplied(self, row: UnappliedCash) -> UnappliedCash:
        """Store it once per business key; the stored row (maybe an earlier one)."""
        self._insert_once(UnappliedCash, row.model_dump(exclude={"id"}), "business_key")
        found = self.find_unapplied(row.business_key)
        assert found is not None
        return found

    def find_unapplied(self, business_key: str) -> UnappliedCash | None:
        columns = _table(UnappliedCash).c
        with self.engine.connect() as connection:
            row = (
                connection.execute(
                    select(_table(UnappliedCash)).where(columns.business_key == business_key)
                )
                .mappings()
                .first()
            )
        if row is None:
            return None
        found = UnappliedCash.model_validate(dict(row))
        found.received_at = utc(found.received_at)
        return found

    def unapplied_cash(self) -> list[UnappliedCash]:
        with self.engine.connect() as connection:
            rows = (
                connection.execute(
                    select(_table(UnappliedCash)).order_by(_table(UnappliedCash).c.id)
                )
                .mappings()
                .all()
            )
        found = [UnappliedCash.model_validate(dict(row)) for row in rows]
        for row in found:
            row.received_at = utc(row.received_at)
        return found


def _dead_letter(row: Any) -> DeadLetter:
    letter = DeadLetter.model_validate(dict(row))
    letter.created_at = utc(letter.created_at)
    if letter.redriven_at is not None:
        letter.redriven_at = utc(letter.redriven_at)
    return letter
