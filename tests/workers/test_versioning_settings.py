"""Worker Versioning is off unless Q2C_DEPLOYMENT_NAME and Q2C_BUILD_ID name the build, and
a half-given or malformed pair stops the worker naming the variable."""

import os
import subprocess
import sys

import httpx
import pytest
from pydantic import ValidationError
from temporalio.common import VersioningBehavior
from temporalio.testing import WorkflowEnvironment

from workers.settings import Settings
from workers.worker import build_worker, deployment_config

Q2C = [sys.executable, "-m", "cli"]


def test_unversioned_by_default() -> None:
    settings = Settings()
    assert not settings.versioned
    assert deployment_config(settings) is None


@pytest.mark.asyncio(loop_scope="session")
async def test_the_default_worker_has_no_deployment(dev_server_env: WorkflowEnvironment) -> None:
    async with httpx.AsyncClient() as http:
        worker = build_worker(dev_server_env.client, settings=Settings(), http=http)
    assert worker.config().get("deployment_config") is None


def test_a_named_build_is_pinned_by_default() -> None:
    config = deployment_config(Settings(deployment_name="q2c", build_id="2026.11.30-1"))
    assert config is not None and config.use_worker_versioning
    assert config.version.deployment_name == "q2c" and config.version.build_id == "2026.11.30-1"
    assert config.default_versioning_behavior is VersioningBehavior.PINNED


@pytest.mark.parametrize(
    ("given", "field", "reason"),
    [
        ({"deployment_name": "q2c"}, "build_id", "name this worker's build as well"),
        ({"build_id": "A"}, "build_id", "needs Q2C_DEPLOYMENT_NAME as well"),
        ({"deployment_name": "q2c.prod", "build_id": "A"}, "deployment_name", "only letters"),
        ({"deployment_name": "q2c", "build_id": "a b"}, "build_id", "only letters"),
        ({"deployment_name": "q2c", "build_id": "x" * 256}, "build_id", "at most 255"),
    ],
)
def test_a_half_given_or_malformed_version_is_refused(
    given: dict[str, str], field: str, reason: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(**given)  # type: ignore[arg-type]
    [problem] = refused.value.errors()
    assert problem["loc"] == (field,)
    assert reason in problem["msg"]


def test_the_worker_names_the_missing_variable_and_exits_2() -> None:
    env = {**os.environ, "Q2C_DEPLOYMENT_NAME": "q2c"}
    env.pop("Q2C_BUILD_ID", None)
    done = subprocess.run([*Q2C, "worker"], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: Q2C_BUILD_ID: Value error, Q2C_DEPLOYMENT_NAME is set")


def test_deploy_without_a_deployment_name_exits_2() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("Q2C_DEPLOYMENT_NAME", "Q2C_BUILD_ID")}
    done = subprocess.run(
        [*Q2C, "deploy", "status"], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 2, done.stderr
    assert "--name: no deployment named" in done.stderr
