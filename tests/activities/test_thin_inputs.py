"""The usage, route-history, reconcile and delivery steps take the fields they read, not the
whole contract or document. An input an older worker scheduled (recorded below from a real
run) still reaches the new activities, through the data converter the worker uses, with the
same meaning."""

import base64
import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter

from activities.documents import render_input
from billing.tax import Seller
from schemas.contract import Contract, DocumentTerms
from schemas.delivery import DeliverDocumentInput
from schemas.steps import ExpectedLine, FetchUsageInput, ReconcileInput, RouteHistoryInput

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


def test_a_reconcile_input_scheduled_with_the_whole_invoice_reads_as_its_lines_and_totals() -> None:
    recorded = _scheduled_input("reconcile")
    assert b'"invoice":{' in recorded.data
    # C-1001 for October: a 500.00 platform fee and 120,000 API calls at 0.002 = 240.00;
    # New York's 4 % on 740.00 = 29.60.
    assert _decoded(recorded, ReconcileInput) == ReconcileInput(
        posting_key="q2c:C-1001:cycle:2026-10-01:2026-11-01",
        currency="USD",
        lines=[
            ExpectedLine(charge_id="c1001-platform", amount=Decimal("500.00")),
            ExpectedLine(charge_id="c1001-api", amount=Decimal("240.00")),
        ],
        subtotal=Decimal("740.00"),
        tax_total=Decimal("29.60"),
        total=Decimal("769.60"),
    )


def test_a_delivery_scheduled_with_the_whole_contract_reads_as_its_terms() -> None:
    recorded = _scheduled_input("deliver_document")
    assert b'"contract":{' in recorded.data
    delivery = _decoded(recorded, DeliverDocumentInput)
    # C-1001 has the default terms: net 30, no buyer reference, no purchase order.
    assert delivery.terms == DocumentTerms(
        payment_terms_days=30, buyer_reference="", purchase_order=""
    )
    assert (delivery.erp_document_id, delivery.customer.id) == ("INV-000001", "CU-1001")


def test_a_delivery_of_either_shape_renders_the_same_document() -> None:
    data = json.loads(_scheduled_input("deliver_document").data)
    data["contract"] |= {
        "payment_terms_days": 14,
        "buyer_reference": "BR-77",
        "purchase_order": "PO-9",
    }
    old = DeliverDocumentInput.model_validate(data)
    new = DeliverDocumentInput.model_validate(
        {k: v for k, v in data.items() if k != "contract"}
        | {
            "terms": {
                "payment_terms_days": 14,
                "buyer_reference": "BR-77",
                "purchase_order": "PO-9",
            }
        }
    )
    assert old == new
    rendered = render_input(old, seller=Seller())
    assert rendered.ubl == render_input(new, seller=Seller()).ubl
    # Issued 2026-11-30, net 14: due 2026-12-14 (BT-9); BT-10 and BT-13 as the contract has them.
    assert b"<cbc:DueDate>2026-12-14</cbc:DueDate>" in rendered.ubl
    assert b"<cbc:BuyerReference>BR-77</cbc:BuyerReference>" in rendered.ubl
    assert re.search(rb"<cac:OrderReference>\s*<cbc:ID>PO-9</cbc:ID>", rendered.ubl)


def _rewritten(activity_type: str, as_type: type[Any]) -> tuple[int, int]:
    """The bytes of an input as recorded, and as the same input is scheduled today."""
    old = _scheduled_input(activity_type)
    new = pydantic_data_converter.payload_converter.to_payloads([_decoded(old, as_type)])[0]
    return len(old.data), len(new.data)


def test_the_new_inputs_carry_a_fraction_of_the_bytes() -> None:
    for activity_type, as_type in [
        ("fetch_usage", FetchUsageInput),
        ("fetch_route_history", RouteHistoryInput),
        ("reconcile", ReconcileInput),
    ]:
        old, new = _rewritten(activity_type, as_type)
        assert new * 5 < old, activity_type
    # The delivery still carries the invoice and customer, which it renders, not the contract
    # (about 800 bytes of JSON in this recording).
    old, new = _rewritten("deliver_document", DeliverDocumentInput)
    assert new < old - 700


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


_RECORDED_INVOICE = json.loads(_scheduled_input("reconcile").data)["invoice"]

PERIOD = {"period_start": "2026-10-01", "period_end": "2026-11-01"}
ROUTE_REST = {"reason": "cycle", "exclude": [], "metrics": []}


@pytest.mark.parametrize(
    ("model", "data", "field"),
    [
        (FetchUsageInput, {"contract": {"id": "C-1"}} | PERIOD, "customer_id"),
        (FetchUsageInput, {"contract_id": "", "metrics": []} | PERIOD, "contract_id"),
        (
            FetchUsageInput,
            PERIOD | {"contract_id": "C-1", "metrics": [], "period_start": "x"},
            "period_start",
        ),
        (RouteHistoryInput, {"like": {"invoice_id": "x"}} | ROUTE_REST, "currency"),
        (
            RouteHistoryInput,
            {"customer_id": "CU-1", "contract_id": "C-1", "currency": "XYZ", "before": "2026-10-01"}
            | ROUTE_REST,
            "currency",
        ),
        (ReconcileInput, {"invoice": {"invoice_id": "x"}, "posting_key": "k"}, "currency"),
        (ReconcileInput, {"invoice": _RECORDED_INVOICE}, "posting_key"),
        (
            ReconcileInput,
            {"posting_key": "k", "currency": "USD", "lines": [{"charge_id": "a", "amount": "x"}]}
            | {"subtotal": "1", "tax_total": "0", "total": "1"},
            "lines.0.amount",
        ),
    ],
    ids=[
        "usage-old-shape-contract-incomplete",
        "usage-empty-contract-id",
        "usage-unreadable-period",
        "route-history-old-shape-document-incomplete",
        "route-history-unknown-currency",
        "reconcile-old-shape-invoice-incomplete",
        "reconcile-old-shape-without-key",
        "reconcile-unreadable-amount",
    ],
)
def test_a_bad_input_is_refused_naming_the_field(
    model: type[BaseModel], data: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        model.model_validate(data)
    assert field in str(refused.value)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"contract": {"id": "C-1001"}}, "customer_id"),
        ({"terms": {"payment_terms_days": 400}}, "terms.payment_terms_days"),
    ],
    ids=["old-shape-contract-incomplete", "terms-out-of-range"],
)
def test_a_bad_delivery_input_is_refused_naming_the_field(
    change: dict[str, Any], field: str
) -> None:
    data = json.loads(_scheduled_input("deliver_document").data)
    if "terms" in change:
        del data["contract"]
    with pytest.raises(ValidationError) as refused:
        DeliverDocumentInput.model_validate(data | change)
    assert field in str(refused.value)
