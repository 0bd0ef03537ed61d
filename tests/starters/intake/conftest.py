"""A real intake process (`q2c intake`) on a loopback port, against the session's Temporal dev
server and systems service, with its database in the test's folder."""

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from cli import build_app
from devstack.stack import answers_ok, free_port
from starters.intake_http.signatures import signed_headers
from starters.intake_http.store import IntakeStore
from tests.conftest import SystemsService

SECRETS = {
    "crm": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"],
    "payments": ["whsec_kPl8aVUgWP2lXTskSQ9F0GsxS8ZBFjd3"],
}
"""crm has two secrets, the old and the new, as during a rotation."""
SCOPES = {
    "crm": ["billing_cycle.closed", "contract.activated", "milestone.completed"],
    "payments": ["payment.succeeded", "payment.failed", "payment.refunded", "dispute.opened"],
}
QUEUE = "q2c-intake-no-worker"  # nothing polls: started runs wait, which is all intake needs


_UNUSED_YEARS = iter(random.sample(range(3000, 10000), 7000))
"""Far-future years drawn without replacement: a test that takes one owns that year's business
keys on the session's shared dev server. Tests that write a year out use ones below 3000."""


def own_year() -> int:
    return next(_UNUSED_YEARS)


@dataclass
class IntakeProcess:
    folder: Path
    temporal_address: str
    systems: SystemsService
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.folder / 'audit.db'}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "TEMPORAL_ADDRESS": self.temporal_address,
                "Q2C_TASK_QUEUE": QUEUE,
                "Q2C_HOME": str(self.folder),
                "Q2C_AUDIT_DATABASE_URL": self.database_url,
                "Q2C_SYSTEMS_URL": self.systems.url,
                "Q2C_SYSTEMS_TOKEN": self.systems.token,
                "Q2C_WEBHOOK_SECRETS": json.dumps(SECRETS),
                "Q2C_WEBHOOK_SCOPES": json.dumps(SCOPES),
                "Q2C_INTAKE_PORT": str(self.port),
            }
        )
        env.update(self.extra_env)
        return env

    def start(self) -> "IntakeProcess":
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / "intake.log", "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cli", "intake"],
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        # `q2c intake` imports all of q2c: seconds of CPU, much longer beside other suites.
        if answers_ok(f"{self.url}/healthz", timeout=60, alive=self._alive):
            return self
        self.stop()  # no intake left running after a test that failed to start it
        raise RuntimeError(f"the intake did not start: {self.folder / 'intake.log'}")

    def _alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError((self.folder / "intake.log").read_text())

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=15)
        self.process = None

    def store(self) -> IntakeStore:
        return IntakeStore(url=self.database_url)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`q2c` with the intake's environment, in this process (CliRunner sets the
        environment for the call only): a `q2c` process spends seconds of CPU on imports."""
        result = CliRunner().invoke(build_app(), list(args), env=self.env())
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return subprocess.CompletedProcess(
            ["q2c", *args], result.exit_code, result.stdout, result.stderr
        )


def sign(
    body: Any, *, source: str = "crm", webhook_id: str | None = None, at: int | None = None
) -> tuple[bytes, dict[str, str]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = signed_headers(
        SECRETS[source][-1], webhook_id or f"msg_{uuid.uuid4().hex}", at or int(time.time()), raw
    )
    headers["Content-Type"] = "application/json"
    return raw, headers


def post(intake: IntakeProcess, body: Any, **kwargs: Any) -> httpx.Response:
    raw, headers = sign(body, **kwargs)
    return httpx.post(f"{intake.url}/v1/events", content=raw, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def intake(
    dev_server_env: WorkflowEnvironment,
    systems: SystemsService,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[IntakeProcess]:
    address = dev_server_env.client.service_client.config.target_host
    process = IntakeProcess(tmp_path_factory.mktemp("intake"), address, systems).start()
    yield process
    process.stop()
