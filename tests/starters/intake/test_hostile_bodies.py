"""Hostile bodies to the intake over real HTTP: NaN and Infinity, bodies over the configured
size, deep nesting, NUL, float versions, and generated junk, each signed so it reaches the
parser. Every answer is a 202 or a problem+json 4xx, never a 5xx."""

import json
import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from temporalio.testing import WorkflowEnvironment

from tests.conftest import SystemsService
from tests.json_junk import BOUNDED, JSON_VALUES, RAW_BYTES, mutated
from tests.starters.intake.conftest import IntakeProcess, own_year, sign

pytestmark = [pytest.mark.e2e]
PROBLEM = "application/problem+json"
LIMIT = 20_000


@pytest.fixture(scope="module")
def hostile_intake(
    dev_server_env: WorkflowEnvironment,
    systems: SystemsService,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[IntakeProcess]:
    """An intake of its own, with a small body limit and its own request log."""
    address = dev_server_env.client.service_client.config.target_host
    process = IntakeProcess(
        tmp_path_factory.mktemp("hostile-intake"),
        address,
        systems,
        extra_env={"Q2C_INTAKE_MAX_BODY_BYTES": str(LIMIT)},
    ).start()
    yield process
    process.stop()


def _cycle(**changes: Any) -> dict[str, Any]:
    year = own_year()  # a business key no other test uses
    return {
        "type": "billing_cycle.closed",
        "event_id": f"evt-hostile-{year}-{random.randint(0, 10**9)}",
        "schema_version": 1,
        "occurred_at": f"{year}-02-01T00:05:00Z",
        "contract_id": "C-1001",
        "period_start": f"{year}-01-01",
        "period_end": f"{year}-02-01",
    } | changes


def _send(intake: IntakeProcess, raw: bytes) -> httpx.Response:
    try:
        _, headers = sign(raw)
    except UnicodeDecodeError:  # Standard Webhooks signs text: these bytes carry another's
        _, headers = sign(b"{}")
    return httpx.post(f"{intake.url}/v1/events", content=raw, headers=headers, timeout=30)


def _problem(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"] == PROBLEM
    problem: dict[str, Any] = response.json()
    assert problem["type"].endswith(f"/problems/{kind}")
    return problem


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_422_even_in_a_field_nobody_reads(
    hostile_intake: IntakeProcess, constant: str
) -> None:
    raw = json.dumps(_cycle(note="__X__")).replace('"__X__"', constant).encode()
    problem = _problem(_send(hostile_intake, raw), 422, "invalid-event")
    assert f"{constant} is not a JSON number" in problem["detail"]


def test_a_body_over_the_configured_limit_is_413(hostile_intake: IntakeProcess) -> None:
    raw = json.dumps(_cycle(note="x" * LIMIT)).encode()
    problem = _problem(_send(hostile_intake, raw), 413, "too-large")
    assert problem["detail"] == f"body: over the limit of {LIMIT} bytes"
    assert _send(hostile_intake, json.dumps(_cycle()).encode()).status_code == 202


def test_json_nested_deeper_than_the_parser_goes_is_422(hostile_intake: IntakeProcess) -> None:
    raw = b"[" * 9_000 + b"]" * 9_000  # under the limit, far past the parser's depth
    problem = _problem(_send(hostile_intake, raw), 422, "invalid-event")
    assert "nested too deep" in problem["detail"]


def test_a_nul_in_the_event_id_is_422_naming_it(hostile_intake: IntakeProcess) -> None:
    problem = _problem(
        _send(hostile_intake, json.dumps(_cycle(event_id="evt\x00")).encode()),
        422,
        "invalid-event",
    )
    assert [error["pointer"] for error in problem["errors"]] == ["/event_id"]


@pytest.mark.parametrize("version", [1.0, True])
def test_a_version_that_is_not_an_integer_is_refused(
    hostile_intake: IntakeProcess, version: object
) -> None:
    response = _send(hostile_intake, json.dumps(_cycle(schema_version=version)).encode())
    _problem(response, 422, "unsupported-version")


def _answers_without_a_5xx(intake: IntakeProcess, raw: bytes) -> None:
    response = _send(intake, raw)
    assert response.status_code < 500, response.text[:500]
    if response.status_code >= 400:
        assert response.headers["content-type"] == PROBLEM
        assert len(response.content) < 20_000


@BOUNDED
@given(document=JSON_VALUES | mutated(_cycle()))
def test_any_json_value_is_answered_without_a_5xx(
    hostile_intake: IntakeProcess, document: Any
) -> None:
    _answers_without_a_5xx(hostile_intake, json.dumps(document).encode())


@BOUNDED
@given(data=RAW_BYTES)
def test_raw_bytes_are_answered_without_a_5xx(hostile_intake: IntakeProcess, data: bytes) -> None:
    _answers_without_a_5xx(hostile_intake, data)
