"""A run's status as its consumers read it: the documents list, also from a result recorded
before the list existed (the finished runs of older versions)."""

import base64
import json
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from schemas.runs import RunDocument, RunState, RunStatus
from workflows.quote_to_cash import OUTCOME_OF_STATE

HISTORIES = Path(__file__).parents[1] / "histories"


def _result(path: Path) -> RunStatus:
    """The run's result, as the completion event of its recorded history holds it."""
    events = json.loads(path.read_text())["events"]
    [completed] = [e for e in events if e["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"]
    payload = completed["workflowExecutionCompletedEventAttributes"]["result"]["payloads"][0]
    return RunStatus.model_validate_json(base64.b64decode(payload["data"]))


def test_an_amendment_recorded_with_parallel_fields_reads_as_two_documents() -> None:
    status = _result(HISTORIES / "pre_run_outcomes" / "amendment.json")
    # From the recorded JSON: invoice INV-000003 for 921.29 EUR under the run's key, credit
    # note CN-000001 for 491.35 EUR (recorded before its posting key was kept on the status).
    assert status.state is RunState.POSTED
    assert [
        (d.document_type, d.invoice.total, d.invoice.currency, d.erp_document_id, d.posting_key)
        for d in status.documents
    ] == [
        ("credit_note", Decimal("491.35"), "EUR", "CN-000001", ""),
        (
            "invoice",
            Decimal("921.29"),
            "EUR",
            "INV-000003",
            "q2c:C-1016:amendment:2026-10-16:2026-11-01",
        ),
    ]


def test_a_run_that_stopped_before_drafting_has_no_documents_either_way() -> None:
    for folder in (HISTORIES / "pre_run_outcomes", HISTORIES):
        status = _result(folder / "needs_attention.json")
        assert (status.state, status.reason_code, status.documents) == (
            RunState.NEEDS_ATTENTION,
            "customer_invalid",
            [],
        )


def test_todays_status_carries_the_documents_with_their_totals_in_its_json() -> None:
    status = _result(HISTORIES / "amendment.json")
    dumped = json.loads(status.model_dump_json())
    assert [
        {
            "document_type": d["document_type"],
            **{k: d["invoice"][k] for k in ("subtotal", "tax_total", "total")},
            "posting_key": d["posting_key"],
        }
        for d in dumped["documents"]
    ] == [
        {
            "document_type": "credit_note",
            "subtotal": "412.90",
            "tax_total": "78.45",
            "total": "491.35",
            "posting_key": "q2c:C-1016:amendment:2026-10-16:2026-11-01:credit-note",
        },
        {
            "document_type": "invoice",
            "subtotal": "774.19",
            "tax_total": "147.10",
            "total": "921.29",
            "posting_key": "q2c:C-1016:amendment:2026-10-16:2026-11-01",
        },
    ]
    assert RunStatus.model_validate(dumped) == status
    assert "erp_document_id" not in dumped and "credit_note" not in dumped


def test_a_document_whose_type_is_not_its_invoices_is_refused_by_field() -> None:
    status = _result(HISTORIES / "amendment.json")
    note = status.documents[0]
    with pytest.raises(
        ValidationError, match="document_type: invoice, but the invoice is a credit_note"
    ):
        RunDocument(document_type="invoice", invoice=note.invoice, posting_key=note.posting_key)


def test_every_state_a_run_ends_in_has_an_outcome_for_the_audit_trail() -> None:
    # A state added to the ending states without an outcome would fail the run's last step.
    assert set(OUTCOME_OF_STATE) == {state for state in RunState if state.settled}
