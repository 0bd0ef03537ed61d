"""q2c's own database, beside the worker: SQLite by default, PostgreSQL by URL. The audit
trail and the delivery log each keep one table in it, and open it the same way."""

from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from sqlalchemy import Engine, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import SQLModel, create_engine


def utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything written here is UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _sqlite_pragmas(connection: Any, _record: object) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


class OneTableStore:
    """An engine on `url` and the one table a subclass keeps there."""

    def __init__(self, *, url: str, connect_args: dict[str, Any] | None = None) -> None:
        args = dict(connect_args or {})
        self._sqlite = url.startswith("sqlite")
        if self._sqlite:
            args.setdefault("timeout", 30)  # several worker processes may share the file
        self.engine: Engine = create_engine(url, connect_args=args)
        if self._sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)

    def table(self) -> Table:
        raise NotImplementedError

    @property
    def dialect(self) -> ModuleType:
        """The dialect whose `insert` has `on_conflict_do_nothing`."""
        return sqlite if self._sqlite else postgresql

    def create(self) -> None:
        database = self.engine.url.database
        if self._sqlite and database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        SQLModel.metadata.create_all(self.engine, tables=[self.table()])

    def dispose(self) -> None:
        self.engine.dispose()
