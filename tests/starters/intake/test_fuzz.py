"""schemathesis against the intake's own OpenAPI and the systems service's, bounded: no answer
is a 5xx, and every error the intake gives is problem+json that matches its documented schema.

Each request to `POST /v1/events` is signed, so the generated bodies reach validation, scopes
and the start of runs instead of stopping at the signature check.
"""

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import BaseSchema
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Err

from tests.conftest import SystemsService
from tests.starters.intake.conftest import IntakeProcess, sign

pytestmark = [pytest.mark.e2e]
Case = schemathesis.Case[Any]
BOUNDED = settings(
    max_examples=25,
    derandomize=True,  # the same cases on every run: CI is not where new ones are found
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
INTAKE_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def intake_schema(intake: IntakeProcess) -> BaseSchema:
    return schemathesis.openapi.from_url(f"{intake.url}/openapi.json")


@pytest.fixture(scope="module")
def fuzzed_systems(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SystemsService]:
    """A systems service of its own: the fuzzer writes garbage the other tests must not see."""
    service = SystemsService.in_folder(Path(tmp_path_factory.mktemp("fuzzed-systems")))
    service.start()
    yield service
    service.stop()


@pytest.fixture(scope="module")
def systems_schema(fuzzed_systems: SystemsService) -> BaseSchema:
    return schemathesis.openapi.from_url(f"{fuzzed_systems.url}/openapi.json")


def _each_operation(schema: BaseSchema, call: Callable[[Case], None]) -> int:
    """Run `call` on generated cases of every operation (the pytest plugin is not used: it
    does not load under this pytest); the number of operations."""
    count = 0
    for result in schema.get_all_operations():
        assert not isinstance(result, Err), result
        operation = result.ok()

        @BOUNDED
        @given(case=operation.as_strategy())
        def run(case: Case) -> None:
            call(case)

        run()
        count += 1
    return count


def test_the_intake_answers_every_generated_request_without_a_5xx(
    intake_schema: BaseSchema, intake: IntakeProcess
) -> None:
    seen: set[int] = set()

    def call(case: Case) -> None:
        if case.method == "POST" and case.path == "/v1/events" and case.body is not None:
            raw, signed = sign(json.dumps(case.body).encode())
            response: Any = requests.post(
                f"{intake.url}/v1/events",
                data=raw,
                headers={**dict(case.headers or {}), **signed},
                timeout=30,
            )
            seen.add(response.status_code)
        else:
            response = case.call(base_url=intake.url)
        case.validate_response(response, checks=INTAKE_CHECKS)
        if 400 <= response.status_code < 500:
            media: Any = response.headers["content-type"]  # a list in schemathesis' Response
            assert (media if isinstance(media, str) else media[0]) == "application/problem+json"

    assert _each_operation(intake_schema, call) == 5
    assert {202, 403} <= seen, f"signed bodies should reach the runs and the scopes: {seen}"


def test_the_systems_service_answers_every_generated_request_without_a_5xx(
    systems_schema: BaseSchema, fuzzed_systems: SystemsService
) -> None:
    def call(case: Case) -> None:
        response = case.call(
            base_url=fuzzed_systems.url,
            headers={"Authorization": f"Bearer {fuzzed_systems.token}"},
        )
        case.validate_response(response, checks=[not_a_server_error])

    assert _each_operation(systems_schema, call) > 10
