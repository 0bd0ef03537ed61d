"""The compose file cannot run here (no Docker engine): check its structure instead."""

from pathlib import Path
from typing import Any

import yaml

from devstack.stack import search_attribute_args
from workflows.search_attributes import ALL

COMPOSE = Path(__file__).parents[2] / "docker-compose.temporal.yml"


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def _version(image: str) -> tuple[int, ...]:
    return tuple(int(part) for part in image.rsplit(":", 1)[1].split("."))


def test_compose_has_database_server_schema_ui_and_search_attributes() -> None:
    services = _compose()["services"]
    assert {"postgresql", "temporal", "temporal-ui", "temporal-search-attributes"} <= set(services)
    assert any("setup-schema" in " ".join(s.get("command", [])) for s in services.values())
    assert services["temporal"]["environment"]["DB"] == "postgres12"


def test_compose_ui_can_send_signals_and_updates() -> None:
    image = _compose()["services"]["temporal-ui"]["image"]
    assert image.startswith("temporalio/ui:")
    assert _version(image) >= (2, 34, 4)


def test_compose_registers_every_search_attribute_the_workflow_sets() -> None:
    command = " ".join(_compose()["services"]["temporal-search-attributes"]["command"])
    for key in ALL:
        assert f"--name {key.name} " in command + " "
    # ...with the same types the dev server gets.
    pairs = search_attribute_args()[1::2]
    for pair in pairs:
        name, kind = pair.split("=")
        assert f"--name {name} --type {kind}" in command


def test_every_service_image_is_pinned() -> None:
    for name, service in _compose()["services"].items():
        assert ":" in service["image"] and not service["image"].endswith(":latest"), name
