"""Every route of the systems service, over real HTTP, with generated junk: path ids holding
`/`, `..`, NUL and the like, query values of any kind, and bodies that are any JSON value,
near-valid documents, JSON with NaN or Infinity, or raw bytes. The rule: a 2xx or a 4xx,
never a 5xx, and an error never larger than the service's own words (no input sent back).
SQLite and PostgreSQL both, since they fail on different input (PostgreSQL on NUL)."""

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from activities.paths import segment
from systems.app import create_app
from tests.conftest import POSTGRES_URL
from tests.json_junk import BOUNDED, JSON_VALUES, RAW_BYTES, mutated
from tests.systems.conftest import AUTH, Target, serving
from tests.systems.test_crm import CONTRACT, CUSTOMER
from tests.systems.test_erp import _request

EXAMPLES: dict[str, dict[str, Any]] = {
    "/crm/customers/{customer_id}": CUSTOMER,
    "/crm/contracts/{contract_id}": CONTRACT,
    "/erp/postings": _request("q2c:C-FUZZ:cycle", contract_id="C-FUZZ"),
    "/usage/metrics/{code}": {"name": "calls", "aggregation": "count"},
    "/admin/faults": {"system": "erp", "latency_ms": 0},
    "/usage/events": {
        "events": [
            {
                "transaction_id": "t1",
                "contract_id": "C-FUZZ",
                "metric": "calls",
                "timestamp": "2026-10-02T00:00:00Z",
                "properties": {},
            }
        ]
    },
}
PER_ROUTE = settings(BOUNDED, max_examples=8)  # some 70 operations, on two databases
IDS = st.text(max_size=20) | st.sampled_from(
    [".", "..", "a/../b", "C-1001/", "\x00", "%00", "?x=1", "é", " ", "x" * 300]
)
BODIES = (
    JSON_VALUES.map(lambda value: json.dumps(value).encode())
    | RAW_BYTES
    | JSON_VALUES.map(lambda value: json.dumps([value, "__X__"]).replace('"__X__"', "NaN").encode())
)


def _operations() -> list[tuple[str, str, list[str], list[str]]]:
    """(method, path template, path parameters, query parameters) of every operation, read
    from the service's own OpenAPI document."""
    app = create_app(settings=Target(backend="sqlite", url="sqlite://").settings())
    found = []
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            params = operation.get("parameters", [])
            found.append(
                (
                    method.upper(),
                    path,
                    [p["name"] for p in params if p["in"] == "path"],
                    [p["name"] for p in params if p["in"] == "query"],
                )
            )
    return found


ROUTES = _operations()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def base_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """One service per backend for the whole module: the junk it stores stays in its own
    database (a file, or a schema dropped afterwards)."""
    if request.param == "sqlite":
        folder = Path(tmp_path_factory.mktemp("fuzz"))
        target = Target(backend="sqlite", url=f"sqlite:///{folder / 'systems.db'}")
    else:
        if not request.getfixturevalue("postgres_available"):
            pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL}")
        target = Target(
            backend="postgresql", url=POSTGRES_URL, schema=f"systems_fuzz_{uuid.uuid4().hex[:12]}"
        )
    with serving(target.settings(seed=True)) as url:
        yield url
    if target.schema:
        engine = sa.create_engine(POSTGRES_URL)
        with engine.begin() as connection:
            connection.execute(sa.schema.DropSchema(target.schema, cascade=True, if_exists=True))
        engine.dispose()


def _path(template: str, values: dict[str, str]) -> str:
    path = template
    for name, value in values.items():
        path = path.replace("{" + name + "}", segment(value))
    return path


def test_every_route_is_fuzzed() -> None:
    # A route added later is fuzzed too; this checks the list is not silently empty.
    assert len(ROUTES) > 25
    assert ("POST", "/erp/postings") in {(method, path) for method, path, _, _ in ROUTES}


@pytest.mark.parametrize(
    ("method", "template", "path_names", "query_names"),
    ROUTES,
    ids=[f"{method} {path}" for method, path, _, _ in ROUTES],
)
def test_a_route_answers_junk_with_a_2xx_or_a_4xx(
    base_url: str, method: str, template: str, path_names: list[str], query_names: list[str]
) -> None:
    example = EXAMPLES.get(template)
    near = mutated(example).map(lambda d: json.dumps(d).encode()) if example else BODIES
    bodies = BODIES | near

    @PER_ROUTE
    @given(
        ids=st.fixed_dictionaries(dict.fromkeys(path_names, IDS)),
        query=st.dictionaries(
            st.sampled_from(query_names) if query_names else st.text(max_size=5),
            st.text(max_size=20) | st.sampled_from(["\x00", "-1", "10000", "2026-13-01"]),
            max_size=3,
        ),
        body=bodies,
    )
    def fuzz(ids: dict[str, str], query: dict[str, str], body: bytes) -> None:
        sent = body if method in ("POST", "PUT", "PATCH") else None
        headers = AUTH | {"content-type": "application/json"}
        response = client.request(
            method, _path(template, ids), params=query, content=sent, headers=headers
        )
        assert response.status_code < 500, (response.status_code, response.text[:500])
        if response.status_code >= 400:
            assert len(response.content) < 20_000, len(response.content)

    with httpx.Client(base_url=base_url, timeout=30) as client:
        fuzz()
