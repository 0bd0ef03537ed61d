"""Events that fail validation name the field and the reason; nothing starts."""

import json

import pytest

from schemas.events import workflow_id_for
from starters.intake import EventError, event_digest, parse_event

GOOD = {
    "type": "billing_cycle.closed",
    "event_id": "evt-1",
    "schema_version": 1,
    "occurred_at": "2026-11-01T00:00:00Z",
    "contract_id": "C-1001",
    "period_start": "2026-10-01",
    "period_end": "2026-11-01",
}


def test_good_event_derives_the_workflow_id_from_its_business_key() -> None:
    event = parse_event(json.dumps(GOOD))
    assert workflow_id_for(event) == "q2c:C-1001:cycle:2026-10-01:2026-11-01"


def test_redelivery_with_a_new_event_id_is_the_same_business_key() -> None:
    first = parse_event(GOOD)
    second = parse_event({**GOOD, "event_id": "evt-2"})
    assert workflow_id_for(first) == workflow_id_for(second)
    assert event_digest(first) != event_digest(second)


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"period_end": "2026-09-01"}, "", "period_end: must be after period_start"),
        ({"schema_version": 2}, "schema_version", "Input should be 1"),
        ({"occurred_at": "2026-11-01T00:00:00"}, "occurred_at", "timezone"),
        ({"contract_id": ""}, "contract_id", "at least 1 character"),
        ({"contract_id": "C 1/../x"}, "contract_id", "pattern"),
        ({"event_id": None}, "event_id", "valid string"),
        ({"type": "contract.exploded"}, "", "contract.exploded"),
        ({"period_start": "yesterday"}, "period_start", "valid date"),
    ],
)
def test_bad_event_names_field_and_reason(
    change: dict[str, object], field: str, reason: str
) -> None:
    with pytest.raises(EventError) as error:
        parse_event({**GOOD, **change})
    text = str(error.value)
    assert field in text
    assert reason in text


def test_missing_fields_are_each_named() -> None:
    with pytest.raises(EventError) as error:
        parse_event({"type": "milestone.completed", "schema_version": 1})
    named = " ".join(error.value.problems)
    for field in ("event_id", "occurred_at", "contract_id", "milestone_id", "completed_on"):
        assert field in named


def test_not_json_is_an_event_error() -> None:
    with pytest.raises(EventError):
        parse_event("{not json")
