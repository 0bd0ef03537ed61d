"""Hostile events, through both parsers (the CLI's `parse_event`, the intake's `parse_wire`):
strict versions, safe ids, bounded strings, no NUL, and generated junk that only ever gives a
validation error or an event."""

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.wire import WIRE_MODELS, WireError, parse_wire
from starters.intake import EventError, parse_event
from tests.json_junk import BOUNDED, JSON_VALUES, RAW_BYTES, mutated

CYCLE: dict[str, Any] = {
    "type": "billing_cycle.closed",
    "event_id": "evt-hostile-1",
    "schema_version": 1,
    "occurred_at": "2026-11-01T00:00:00Z",
    "contract_id": "C-HOSTILE-1",
    "period_start": "2026-10-01",
    "period_end": "2026-11-01",
}
MILESTONE: dict[str, Any] = {
    k: v for k, v in CYCLE.items() if k not in ("period_start", "period_end")
} | {"type": "milestone.completed", "milestone_id": "M1", "completed_on": "2026-10-15"}
PAYMENT: dict[str, Any] = {
    "type": "payment.succeeded",
    "event_id": "evt-hostile-2",
    "schema_version": 2,
    "occurred_at": "2026-11-20T10:00:00Z",
    "posting_key": "q2c:C-HOSTILE-1:cycle:2026-10-01:2026-11-01",
    "payment_id": "pi_1",
    "amount": {"amount": "12.34", "currency": "EUR"},
}


def _wire_problems(raw: dict[str, Any]) -> str:
    with pytest.raises(WireError) as raised:
        parse_wire(raw)
    return str(raised.value)


def _event_problems(raw: dict[str, Any]) -> str:
    with pytest.raises(EventError) as raised:
        parse_event(json.dumps(raw))
    return str(raised.value)


@pytest.mark.parametrize("version", [1.0, True, "1", 2.0])
def test_schema_version_is_a_strict_integer(version: object) -> None:
    assert "schema_version" in _event_problems(CYCLE | {"schema_version": version})
    assert "schema_version" in _wire_problems(CYCLE | {"schema_version": version})
    payment = PAYMENT | {"schema_version": version}
    assert "schema_version" in _wire_problems(payment)


def test_schema_version_one_and_two_still_parse() -> None:
    assert parse_event(json.dumps(CYCLE)).schema_version == 1
    assert parse_wire(CYCLE | {"schema_version": 2}).schema_version == 1
    assert parse_wire(PAYMENT).schema_version == 2


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (CYCLE, "contract_id"),
        (MILESTONE, "milestone_id"),
        (PAYMENT, "posting_key"),
        (PAYMENT, "payment_id"),
    ],
)
@pytest.mark.parametrize("segment", [".", ".."])
def test_dot_segments_are_not_ids(event: dict[str, Any], field: str, segment: str) -> None:
    # A URL resolves "." and ".." as path segments: /crm/contracts/.. is /crm.
    problems = _wire_problems(event | {field: segment})
    assert f"/{field}" in problems and "is not an id" in problems
    if event is not PAYMENT:
        assert f"{field}: '{segment}' is not an id" in _event_problems(event | {field: segment})


def test_an_id_may_still_hold_dots_inside() -> None:
    assert parse_event(json.dumps(CYCLE | {"contract_id": "acme.eu..2026"})).contract_id == (
        "acme.eu..2026"
    )


@pytest.mark.parametrize(
    ("event", "field"),
    [(CYCLE, "event_id"), (CYCLE, "contract_id"), (PAYMENT, "event_id")],
)
def test_a_nul_character_is_refused_naming_the_field(event: dict[str, Any], field: str) -> None:
    assert f"/{field}" in _wire_problems(event | {field: "evt\x00x"})


def test_a_nul_in_a_failure_message_is_refused() -> None:
    failed = PAYMENT | {
        "type": "payment.failed",
        "failure_code": "card_declined",
        "failure_message": "declined\x00",
    }
    assert "/failure_message" in _wire_problems(failed)


def _string_fields(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The properties that take free strings: not dates, enums, constants or decimals (a
    decimal is a number or a numeric string, bounded by its value)."""
    found = {}
    for name, field in schema.get("properties", {}).items():
        options = field.get("anyOf", [field])
        if any(option.get("type") == "number" for option in options):
            continue
        for option in options:
            if "$ref" in option:
                continue
            if option.get("type") == "string" and "format" not in option and "enum" not in option:
                if "const" not in option:
                    found[name] = option
    return found


@pytest.mark.parametrize(
    ("version", "event_type"),
    [(version, kind) for version, models in WIRE_MODELS.items() for kind in models],
)
def test_every_string_field_of_every_event_has_a_maximum_length(
    version: int, event_type: str
) -> None:
    schema = WIRE_MODELS[version][event_type].model_json_schema(mode="validation")
    strings = _string_fields(schema)
    assert strings, "every event has string fields"
    unbounded = sorted(name for name, field in strings.items() if "maxLength" not in field)
    assert unbounded == []


@pytest.mark.parametrize("field", ["type", "event_id", "contract_id", "occurred_at"])
def test_a_three_megabyte_field_gives_a_short_error_naming_it(field: str) -> None:
    huge = "x" * 3_000_000
    for problems in (_event_problems(CYCLE | {field: huge}), _wire_problems(CYCLE | {field: huge})):
        assert len(problems) < 1_000, len(problems)
        assert field in problems or "type" in problems


def test_a_three_megabyte_version_is_not_repeated() -> None:
    assert len(_wire_problems(CYCLE | {"schema_version": "9" * 3_000_000})) < 1_000


@BOUNDED
@given(raw=JSON_VALUES | mutated(CYCLE) | mutated(MILESTONE) | mutated(PAYMENT))
def test_junk_gives_the_wire_parser_an_error_or_an_event(raw: Any) -> None:
    try:
        parse_wire(raw)
    except WireError as error:
        assert error.problems and all(problem.detail for problem in error.problems)


@BOUNDED
@given(raw=JSON_VALUES | mutated(CYCLE) | mutated(MILESTONE))
def test_junk_gives_the_cli_parser_an_error_or_an_event(raw: Any) -> None:
    try:
        parse_event(json.dumps(raw))
    except EventError as error:
        assert error.problems


@BOUNDED
@given(data=RAW_BYTES)
def test_raw_bytes_give_the_cli_parser_an_error_or_an_event(data: bytes) -> None:
    try:
        parse_event(data)
    except EventError as error:
        assert error.problems


@BOUNDED
@given(raw=st.dictionaries(st.sampled_from(sorted(CYCLE)), JSON_VALUES, max_size=7))
def test_fields_of_any_json_type_give_an_error_or_an_event(raw: dict[str, Any]) -> None:
    try:
        parse_event(CYCLE | raw)
    except EventError as error:
        assert error.problems
