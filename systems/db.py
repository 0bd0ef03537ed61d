"""The database engine and the tables: SQLite file by default, PostgreSQL by URL."""

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlmodel import SQLModel

import systems.models  # noqa: F401  (registers every table on SQLModel.metadata)
from systems.crud.crm import ensure_contract_versions
from systems.crud.erp import ensure_counters
from systems.models.crm import Contract, Customer
from systems.models.revenue import RevenueRecognition, RevenueScheduleLine


def make_engine(*, url: str, schema: str | None = None) -> Engine:
    """An engine for `url`; tables live in `schema` when one is given (PostgreSQL)."""
    parsed = make_url(url)
    # A server may drop an idle connection; a SQLite file never does, so no `SELECT 1`
    # before each request's first query there.
    kwargs: dict[str, Any] = {"pool_pre_ping": parsed.get_backend_name() != "sqlite"}
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


def add_missing_columns(*, engine: Engine, table: sa.Table, schema: str | None) -> list[str]:
    """Add the columns a table created by an older version lacks; they must have a default.

    `create_all` creates missing tables, never missing columns, and a developer's database
    outlives upgrades. Returns the names of the columns added.
    """
    columns = sa.inspect(engine).get_columns(table.name, schema=schema)
    existing = {column["name"] for column in columns}
    name = f'"{schema}"."{table.name}"' if schema else f'"{table.name}"'
    added = []
    with engine.begin() as connection:
        for column in table.columns:
            if column.name in existing:
                continue
            default = getattr(column.default, "arg", None)
            if default is None or callable(default):
                raise RuntimeError(f"{name}.{column.name}: a new column needs a default")
            kind = column.type.compile(dialect=engine.dialect)
            literal = sa.literal(default).compile(
                dialect=engine.dialect, compile_kwargs={"literal_binds": True}
            )
            connection.execute(
                sa.text(
                    f'ALTER TABLE {name} ADD COLUMN "{column.name}" {kind} '
                    f"NOT NULL DEFAULT {literal}"
                )
            )
            added.append(column.name)
    return added


def create_tables(*, engine: Engine, schema: str | None = None) -> None:
    """Create the schema (if any) and every missing table, plus the ERP's counter rows and
    a first version for contracts stored before versions were kept."""
    with engine.begin() as connection:
        if schema is not None:
            connection.execute(sa.schema.CreateSchema(schema, if_not_exists=True))
    SQLModel.metadata.create_all(engine)
    # Tables that gained columns since their first release.
    for model in (Customer, Contract, RevenueScheduleLine, RevenueRecognition):
        add_missing_columns(
            engine=engine,
            table=model.__table__,  # type: ignore[union-attr]
            schema=schema,
        )
    ensure_counters(engine=engine)
    ensure_contract_versions(engine=engine)
