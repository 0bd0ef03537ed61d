"""Each systems test runs against a fresh real database (a SQLite file and a PostgreSQL schema)
and reaches the service over real HTTP: uvicorn on a bound loopback port."""

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from systems.app import create_app
from systems.settings import SystemsSettings
from tests.activities import loopback
from tests.conftest import POSTGRES_URL

TOKEN = "systems-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PERIOD = {"period_start": "2026-10-01", "period_end": "2026-11-01"}


@dataclass(frozen=True)
class Target:
    """Where one test's tables live."""

    backend: str
    url: str
    schema: str | None = None

    def settings(self, **overrides: object) -> SystemsSettings:
        values: dict[str, object] = {
            "database_url": self.url,
            "database_schema": self.schema,
            "token": TOKEN,
            "seed": False,
            "faults": [],
        }
        return SystemsSettings.model_validate(values | overrides)


def _postgres_reachable() -> bool:
    engine = sa.create_engine(POSTGRES_URL)
    try:
        with engine.connect():
            return True
    except sa.exc.OperationalError:
        return False
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_available() -> bool:
    return _postgres_reachable()


@pytest.fixture(params=["sqlite", "postgresql"])
def target(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_available: bool
) -> Iterator[Target]:
    if request.param == "sqlite":
        yield Target(backend="sqlite", url=f"sqlite:///{tmp_path / 'systems.db'}")
        return
    if not postgres_available:
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL}")
    schema = f"systems_test_{uuid.uuid4().hex[:12]}"
    yield Target(backend="postgresql", url=POSTGRES_URL, schema=schema)
    engine = sa.create_engine(POSTGRES_URL)
    try:
        with engine.begin() as connection:
            connection.execute(sa.schema.DropSchema(schema, cascade=True, if_exists=True))
    finally:
        engine.dispose()


@contextmanager
def serving(settings: SystemsSettings) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port, its lifespan included: its base URL.
    The server stops on exit."""
    with loopback.serve(create_app(settings=settings), lifespan=True, start_within=30) as url:
        yield url


@asynccontextmanager
async def serve(
    settings: SystemsSettings, *, token: str = TOKEN
) -> AsyncIterator[httpx.AsyncClient]:
    """The app over real HTTP (`serving`), and a client for it with the bearer token."""
    with serving(settings) as url:
        async with httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as client:
            yield client


@pytest.fixture
async def client(target: Target) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(target.settings()) as http:
        yield http


@pytest.fixture
async def seeded(target: Target) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(target.settings(seed=True)) as http:
        yield http
