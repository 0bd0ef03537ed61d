"""The database engine and the tables: SQLite file by default, PostgreSQL by URL."""

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlmodel import SQLModel

import systems.models  # noqa: F401  (registers every table on SQLModel.metadata)
from systems.crud.crm import ensure_contract_versions
from systems.crud.erp import ensure_counters


def make_engine(*, url: str, schema: str | None = None) -> Engine:
    """An engine for `url`; tables live in `schema` when one is given (PostgreSQL)."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        # Requests are served from a thread pool; writers wait for the lock instead of failing.
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    if schema is not None:
        kwargs["execution_options"] = {"schema_translate_map": {None: schema}}
    engine = sa.create_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    del connection_record
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the one writer (and with synchronous=NORMAL a commit is
    # one write, never a corruption risk); foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_tables(*, engine: Engine, schema: str | None = None) -> None:
    """Create the schema (if any) and every missing table, plus the ERP's counter rows and
    a first version for contracts stored before versions were kept."""
    with engine.begin() as connection:
        if schema is not None:
            connection.execute(sa.schema.CreateSchema(schema, if_not_exists=True))
    SQLModel.metadata.create_all(engine)
    add_missing_columns(engine=engine, schema=schema)
    ensure_counters(engine=engine)
    ensure_contract_versions(engine=engine)


_ADDED_COLUMNS: dict[str, dict[str, str]] = {
    "customer": {
        "delivery_channel": "VARCHAR NOT NULL DEFAULT 'email'",
        "peppol_id": "VARCHAR NOT NULL DEFAULT ''",
    },
}
"""Columns added to a table after its first release, with their SQL type and default."""


def add_missing_columns(*, engine: Engine, schema: str | None = None) -> None:
    """Give a table created by an older version the columns added since, with their defaults
    (create_all makes missing tables, never missing columns)."""
    inspector = sa.inspect(engine)
    quote = engine.dialect.identifier_preparer.quote
    prefix = f"{quote(schema)}." if schema else ""
    with engine.begin() as connection:
        for table, columns in _ADDED_COLUMNS.items():
            present = {column["name"] for column in inspector.get_columns(table, schema=schema)}
            for name, definition in columns.items():
                if name not in present:
                    connection.execute(
                        sa.text(
                            f"ALTER TABLE {prefix}{quote(table)} ADD COLUMN {quote(name)} "
                            f"{definition}"
                        )
                    )
