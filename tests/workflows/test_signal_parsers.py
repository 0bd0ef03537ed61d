"""The parsers of what people and providers send a run, fed generated junk: each signal's
(`parse_signal`, what the handlers call) gives the model or the reason it refused, and each
update's payload (decoded by the SDK with q2c's converter) a model or a validation error.
Nothing else may come out: a signal handler that raised would fail the workflow task."""

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from temporalio.api.common.v1 import Payload

from schemas.approvals import ApprovalInput, Decision
from schemas.collection import (
    DisputeNotice,
    DisputeResolution,
    PaymentNotice,
    RaiseDispute,
    RecordPayment,
)
from tests.json_junk import BOUNDED, JSON_VALUES, RAW_BYTES, mutated
from workers.client import data_converter
from workflows.signals import parse_signal

CONVERTER = data_converter().payload_converter
FEWER = settings(BOUNDED, max_examples=20)
SIGNALS: list[tuple[type[BaseModel], dict[str, Any]]] = [
    (ApprovalInput, {"approver": "ops@example.com", "comment": "ok"}),
    (
        PaymentNotice,
        {"amount": "10.00", "currency": "EUR", "reference": "BANK-1", "by": "ops@example.com"},
    ),
    (DisputeNotice, {"reason": "not delivered", "by": "ops@example.com"}),
    (DisputeResolution, {"outcome": "credited", "credit_amount": "5.00"}),
]
UPDATES: list[tuple[type[BaseModel], dict[str, Any]]] = [
    (Decision, {"verdict": "approve", "approver": "ops@example.com"}),
    (
        RecordPayment,
        {"type": "payment.received", "amount": "1.00", "currency": "EUR", "reference": "R"},
    ),
    (RaiseDispute, {"type": "dispute.raised", "reason": "late"}),
    (DisputeResolution, {"outcome": "upheld"}),
]  # fmt: skip


def _json_payload(data: bytes) -> Payload:
    """What the UI's *Send a Signal* dialog and `temporal workflow signal --input` send."""
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


def _json_payloads(example: dict[str, Any]) -> st.SearchStrategy[Payload]:
    as_json = JSON_VALUES | mutated(example)
    return as_json.map(lambda value: _json_payload(json.dumps(value).encode())) | RAW_BYTES.map(
        _json_payload
    )


def _payloads(example: dict[str, Any]) -> st.SearchStrategy[Payload]:
    return (
        _json_payloads(example)
        | RAW_BYTES.map(lambda data: Payload(metadata={"encoding": b"binary/plain"}, data=data))
        | st.just(Payload(metadata={}, data=b"{}"))
    )


def test_a_good_signal_and_a_refused_one() -> None:
    good = parse_signal(
        _json_payload(b'{"approver": "ops@example.com"}'), ApprovalInput, converter=CONVERTER
    )
    assert good == ApprovalInput(approver="ops@example.com")
    refused = parse_signal(_json_payload(b'{"approver": 7}'), ApprovalInput, converter=CONVERTER)
    assert refused == "approver: Input should be a valid string"
    nested = parse_signal(_json_payload(b"[" * 50_000), ApprovalInput, converter=CONVERTER)
    assert nested == "input: Invalid JSON: recursion limit exceeded at line 1 column 202"


@pytest.mark.parametrize(("model", "example"), SIGNALS, ids=[m.__name__ for m, _ in SIGNALS])
def test_a_signal_parser_gives_a_model_or_a_reason(
    model: type[BaseModel], example: dict[str, Any]
) -> None:
    assert isinstance(
        parse_signal(_json_payload(json.dumps(example).encode()), model, converter=CONVERTER), model
    )

    @BOUNDED
    @given(payload=_payloads(example))
    def fuzz(payload: Payload) -> None:
        result = parse_signal(payload, model, converter=CONVERTER)
        assert isinstance(result, model) or (isinstance(result, str) and result)

    fuzz()


@pytest.mark.parametrize(("model", "example"), UPDATES, ids=[m.__name__ for m, _ in UPDATES])
def test_an_update_payload_decodes_to_a_model_or_a_validation_error(
    model: type[BaseModel], example: dict[str, Any]
) -> None:
    good = _json_payload(json.dumps(example).encode())
    assert isinstance(CONVERTER.from_payloads([good], [model])[0], model)

    @FEWER  # each decode builds the update's type adapter, as the SDK does
    @given(payload=_json_payloads(example))
    def fuzz(payload: Payload) -> None:
        try:
            decoded = CONVERTER.from_payloads([payload], [model])[0]
        except ValidationError:
            return
        assert isinstance(decoded, model)

    fuzz()
