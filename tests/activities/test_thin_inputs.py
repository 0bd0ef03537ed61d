"""The usage and route-history steps take the fields they read, not the whole contract or
document. An input an older worker scheduled (recorded below from a real run) still reaches
the new activities, through the data converter the worker uses, with the same meaning."""

import base64
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter

from schemas.contract import Contract
from schemas.steps import FetchUsageInput, RouteHistoryInput

RECORDED = Path(__file__).parents[1] / "histories" / "straight_through.json"
"""A straight-through run of C-1001 for October 2026, recorded before the inputs were thinned."""


def _scheduled_input(activity_type: str) -> Payload:
    for event in json.loads(RECORDED.read_text())["events"]:
        scheduled = event.get("activityTaskScheduledEventAttributes")
        if scheduled and scheduled["activityType"]["name"] == activity_type:
            recorded = scheduled["input"]["payloads"][0]
            return Payload(
                metadata={k: base64.b64decode(v) for k, v in recorded["metadata"].items()},
                data=base64.b64decode(recorded["data"]),
            )
    raise AssertionError(f"no {activity_type} in {RECORDED.name}")


def _decoded(payload: Payload, as_type: type[Any]) -> Any:
    [value] = pydantic_data_converter.payload_converter.from_payloads([payload], [as_type])
    return value


def test_a_usage_input_scheduled_with_the_whole_contract_reads_as_its_id_and_metrics() -> None:
    recorded = _scheduled_input("fetch_usage")
    assert b'"contract":{' in recorded.data  # the old shape, as recorded
    # C-1001 has a platform fee (recurring) and one usage charge, on `api_calls`.
    assert _decoded(recorded, FetchUsageInput) == FetchUsageInput(
        contract_id="C-1001",
        metrics=["api_calls"],
        period_start=date(2026, 10, 1),
        period_end=date(2026, 11, 1),
    )


def test_a_route_history_input_scheduled_with_the_whole_document_reads_as_its_header() -> None:
    recorded = _scheduled_input("fetch_route_history")
    assert b'"like":{' in recorded.data
    assert _decoded(recorded, RouteHistoryInput) == RouteHistoryInput(
        customer_id="CU-1001",
        contract_id="C-1001",
        currency="USD",
        before=date(2026, 10, 1),
        reason="cycle",
        exclude=["C-1001:cycle:2026-10-01:2026-11-01"],
        metrics=["api_calls"],
    )


def test_the_new_inputs_carry_a_fraction_of_the_bytes() -> None:
    old_usage = _scheduled_input("fetch_usage")
    old_history = _scheduled_input("fetch_route_history")
    new_usage = pydantic_data_converter.payload_converter.to_payloads(
        [_decoded(old_usage, FetchUsageInput)]
    )[0]
    new_history = pydantic_data_converter.payload_converter.to_payloads(
        [_decoded(old_history, RouteHistoryInput)]
    )[0]
    assert len(new_usage.data) * 5 < len(old_usage.data)
    assert len(new_history.data) * 5 < len(old_history.data)


def test_usage_metrics_are_the_usage_charges_metrics_once_each_in_order() -> None:
    recorded = json.loads(_scheduled_input("fetch_usage").data)["contract"]
    [usage] = [c for c in recorded["charges"] if c["kind"] == "usage"]
    # Two more usage charges: one on a new metric, one on a metric already charged.
    recorded["charges"] += [usage | {"id": "sms", "metric": "sms"}, usage | {"id": "api-2"}]
    thin = FetchUsageInput.for_contract(
        Contract.model_validate(recorded),
        period_start=date(2026, 10, 1),
        period_end=date(2026, 11, 1),
    )
    assert thin.contract_id == "C-1001"
    assert thin.metrics == ["api_calls", "sms"]


PERIOD = {"period_start": "2026-10-01", "period_end": "2026-11-01"}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"contract": {"id": "C-1"}} | PERIOD, "customer_id"),
        ({"contract_id": "", "metrics": []} | PERIOD, "contract_id"),
        (PERIOD | {"contract_id": "C-1", "metrics": [], "period_start": "x"}, "period_start"),
    ],
    ids=["old-shape-contract-incomplete", "empty-contract-id", "unreadable-period"],
)
def test_a_bad_usage_input_is_refused_naming_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        FetchUsageInput.model_validate(data)
    assert field in str(refused.value)


ROUTE_REST = {"reason": "cycle", "exclude": [], "metrics": []}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"like": {"invoice_id": "x"}} | ROUTE_REST, "currency"),
        (
            {"customer_id": "CU-1", "contract_id": "C-1", "currency": "XYZ", "before": "2026-10-01"}
            | ROUTE_REST,
            "currency",
        ),
    ],
    ids=["old-shape-document-incomplete", "unknown-currency"],
)
def test_a_bad_route_history_input_is_refused_naming_the_field(
    data: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        RouteHistoryInput.model_validate(data)
    assert field in str(refused.value)
