"""Schema versions: v1 and v2 of an event become one internal event; bad input names its field."""

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.payment_events import Money, PaymentSucceeded, owner_workflow_id
from schemas.wire import WireError, parse_wire


def _payment(version: int, amount: str, currency: str) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "payment.succeeded",
        "event_id": "evt-1",
        "schema_version": version,
        "occurred_at": "2026-11-20T10:00:00Z",
        "posting_key": "q2c:C-1001:cycle:2026-10-01:2026-11-01",
        "payment_id": "pi_1",
    }
    if version == 1:
        event.update(amount=amount, currency=currency)
    else:
        event["amount"] = {"amount": amount, "currency": currency}
    return event


@given(
    cents=st.integers(min_value=1, max_value=10**12),
    currency=st.sampled_from(["EUR", "USD", "JPY", "BHD", "GBP"]),
)
def test_a_v1_payment_upcasts_to_the_v2_event(cents: int, currency: str) -> None:
    digits = {"JPY": 0, "BHD": 3}.get(currency, 2)  # ISO 4217 minor units, written out
    amount = str(Decimal(cents).scaleb(-digits))
    v1, v2 = parse_wire(_payment(1, amount, currency)), parse_wire(_payment(2, amount, currency))
    assert v1 == v2
    assert isinstance(v1, PaymentSucceeded)
    assert v1.amount == Money(amount=Decimal(amount), currency=currency)
    assert v1.schema_version == 2


@pytest.mark.parametrize(
    ("version", "amount", "currency", "pointer", "reason"),
    [
        (1, "10.005", "EUR", "/amount", "EUR has 2 decimals, 10.005 has 3"),
        (2, "10.005", "EUR", "/amount/amount", "EUR has 2 decimals, 10.005 has 3"),
        (2, "5.5", "JPY", "/amount/amount", "JPY has 0 decimals"),
        (1, "0", "EUR", "/amount", "greater than 0"),
        (1, "1.00", "EURO", "/currency", "not an ISO 4217 currency code"),
        (2, "1.00", "XXX", "/amount/currency", "not a currency with a minor unit"),
    ],
)
def test_bad_money_names_its_field(
    version: int, amount: str, currency: str, pointer: str, reason: str
) -> None:
    with pytest.raises(WireError) as caught:
        parse_wire(_payment(version, amount, currency))
    assert [(p.pointer, reason in p.detail) for p in caught.value.problems] == [(pointer, True)]


def test_a_float_amount_is_refused() -> None:
    event = _payment(1, "1", "EUR") | {"amount": 10.5}
    with pytest.raises(WireError, match="not floats"):
        parse_wire(event)


def test_a_payment_must_name_its_invoice() -> None:
    event = _payment(2, "1.00", "EUR")
    del event["posting_key"]
    with pytest.raises(WireError) as caught:
        parse_wire(event)
    assert caught.value.problems[0].pointer == "/posting_key"


@pytest.mark.parametrize(
    ("raw", "pointer", "reason"),
    [
        ({"type": "payment.succeeded"}, "/schema_version", "required; accepted versions: 1, 2"),
        ({"schema_version": 0}, "/schema_version", "version 0 is not accepted"),
        ({"schema_version": True}, "/schema_version", "not accepted"),
        ({"schema_version": 1, "type": "invoice.paid"}, "/type", "must be one of"),
        ([], "", "a JSON object"),
    ],
)
def test_bad_envelopes_name_their_field(raw: Any, pointer: str, reason: str) -> None:
    with pytest.raises(WireError) as caught:
        parse_wire(raw)
    assert caught.value.problems[0].pointer == pointer
    assert reason in caught.value.problems[0].detail


def test_a_credit_notes_posting_key_belongs_to_its_run() -> None:
    run = "q2c:C-1016:amendment:2026-10-16:2026-11-01"
    assert owner_workflow_id(f"{run}:credit-note") == run
    assert owner_workflow_id(run) == run
