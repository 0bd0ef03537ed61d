"""A mid-period plan change on the dev server: the CRM's versions by effective date, a credit
note for the old terms' unused days and an invoice for the new ones, both posted and read back;
and the amendments that must stop for a person, or that have nothing to post."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from cli import build_app
from schemas.errors import ReasonCode
from schemas.events import workflow_id_for
from schemas.runs import RunState, RunStatus
from starters.intake import run_handle, start_run
from tests.conftest import SystemsService
from tests.events import amended, cycle_closed
from tests.own_contracts import copy_contract
from tests.workflows.runs import run_to_end, worker_on

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.e2e]


@pytest.fixture
async def task_queue(
    dev_server_env: WorkflowEnvironment, systems: SystemsService
) -> AsyncIterator[str]:
    queue = f"q2c-amend-{uuid.uuid4()}"
    async with worker_on(dev_server_env, systems, queue):
        yield queue


async def _put_variant(
    http: httpx.AsyncClient,
    prefix: str,
    charges: list[dict[str, Any]],
    effective_from: str,
    **terms: Any,
) -> str:
    """C-1016's first terms under a fresh id with other charges (and `terms`)."""
    seeded = (await http.get("/crm/contracts/C-1016", params={"as_of": "2026-01-01"})).json()
    contract_id = f"{prefix}-{uuid.uuid4().hex[:6]}"
    body = {**seeded, **terms, "id": contract_id, "effective_from": effective_from}
    body["charges"] = charges
    response = await http.put(f"/crm/contracts/{contract_id}", json=body)
    assert response.status_code == 201, response.text
    return contract_id


async def _raised_fee(
    http: httpx.AsyncClient, prefix: str, *, pay_in_advance: bool, **terms: Any
) -> str:
    """A variant with a platform fee of 800.00 a month, raised to 1,500.00 on 2026-10-16."""
    fee = {
        "id": "platform",
        "description": "Platform fee",
        "kind": "recurring",
        "charge_model": "standard",
        "properties": {"amount": "800.00"},
        "pay_in_advance": pay_in_advance,
    }
    contract_id = await _put_variant(http, prefix, [fee], "2026-01-01", **terms)
    current = (await http.get(f"/crm/contracts/{contract_id}")).json()
    raised = {**current, "effective_from": "2026-10-16"}
    raised["charges"] = [{**fee, "properties": {"amount": "1500.00"}}]
    assert (await http.put(f"/crm/contracts/{contract_id}", json=raised)).status_code == 200
    return contract_id


async def test_an_upgrade_posts_a_credit_note_and_an_invoice_and_both_read_back(
    dev_server_env: WorkflowEnvironment,
    systems: SystemsService,
    task_queue: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A copy of C-1016 with both its seeded terms (Growth, then Scale from 16 October): it
    # posts under keys of the test's own.
    own = await copy_contract(systems, "C-1016", every_version=True)
    event = amended(own.contract_id, date(2026, 10, 16), date(2026, 11, 1))
    result = await run_to_end(dev_server_env, event, task_queue)
    assert result.state is RunState.DELIVERED, result.reason
    key = workflow_id_for(event)
    # The credit note first (posting order), then the invoice; each with its own key.
    assert [(d.document_type, d.posting_key) for d in result.documents] == [
        ("credit_note", f"{key}:credit-note"),
        ("invoice", key),
    ]
    note, invoice = result.documents
    # 800.00 then 1,500.00 a month, changed on the 16th: 16 of October's 31 days each way.
    assert note.invoice.subtotal == Decimal("412.90")
    assert invoice.invoice.subtotal == Decimal("774.19")
    assert all(line.amount > 0 for line in note.invoice.lines)
    assert result.total == invoice.invoice.total
    async with systems.client() as http:
        erp_invoice = (await http.get(f"/erp/postings/{key}")).json()
        erp_note = (await http.get(f"/erp/postings/{key}:credit-note")).json()
    assert erp_invoice["erp_document_id"] == invoice.erp_document_id
    assert erp_note["erp_document_id"] == note.erp_document_id != invoice.erp_document_id
    assert erp_invoice["invoice"]["document_type"] == "invoice"
    assert erp_note["invoice"]["document_type"] == "credit_note"
    assert Decimal(erp_note["invoice"]["total"]) == note.invoice.total
    assert Decimal(erp_invoice["invoice"]["total"]) == invoice.invoice.total
    description = await dev_server_env.client.get_workflow_handle(key).describe()
    memo = await description.memo()
    assert (memo["erp_document_id"], memo["credit_note_document_id"]) == (
        invoice.erp_document_id,
        note.erp_document_id,
    )

    address = dev_server_env.client.service_client.config.target_host
    monkeypatch.setenv("TEMPORAL_ADDRESS", address)
    shown = await asyncio.to_thread(CliRunner().invoke, build_app(), ["status", key])
    assert shown.exit_code == 0, shown.output
    assert f"credit note: {note.invoice.total} EUR" in shown.output
    assert f"ERP credit note: {note.erp_document_id}" in shown.output
    assert f"ERP document: {invoice.erp_document_id}" in shown.output


async def test_a_change_in_the_first_period_stops_for_a_person_and_posts_nothing(
    dev_server_env: WorkflowEnvironment, systems: SystemsService, task_queue: str
) -> None:
    event = amended("C-1016", date(2026, 1, 16), date(2026, 2, 1))
    result = await run_to_end(dev_server_env, event, task_queue)
    assert result.state is RunState.NEEDS_ATTENTION
    assert result.reason_code == ReasonCode.RATING_INVALID
    assert "change_date" in result.reason and "first period" in result.reason
    async with systems.client() as http:
        response = await http.get(f"/erp/postings/{workflow_id_for(event)}")
    assert response.status_code == 404


async def test_a_change_before_the_contract_had_terms_names_the_day(
    dev_server_env: WorkflowEnvironment, task_queue: str
) -> None:
    event = amended("C-1016", date(2025, 12, 10), date(2026, 1, 1))
    result = await run_to_end(dev_server_env, event, task_queue)
    assert result.state is RunState.NEEDS_ATTENTION
    assert result.reason_code == ReasonCode.CONTRACT_NOT_FOUND
    assert "2025-12-10" in result.reason


async def test_an_amendment_of_fees_billed_in_arrears_has_nothing_to_post(
    dev_server_env: WorkflowEnvironment, systems: SystemsService, task_queue: str
) -> None:
    async with systems.client() as http:
        contract_id = await _raised_fee(http, "C-ARREARS", pay_in_advance=False)
    event = amended(contract_id, date(2026, 10, 16), date(2026, 11, 1))
    result = await run_to_end(dev_server_env, event, task_queue)
    assert result.state is RunState.NOTHING_TO_BILL
    assert result.documents == []
    assert "nothing to post" in result.reason


async def test_a_charge_the_engine_refuses_stops_the_cycle_run_for_a_person(
    dev_server_env: WorkflowEnvironment, systems: SystemsService, task_queue: str
) -> None:
    # Rating runs as a local activity: its permanent failure must stop the run the same way.
    tiers = [{"from_value": 0, "to_value": None, "per_unit_amount": "1", "flat_amount": "0"}]
    seats = {
        "id": "seats",
        "description": "Seats",
        "kind": "recurring",
        "charge_model": "graduated",
        "properties": {"graduated_ranges": tiers},
        "pay_in_advance": True,
    }
    async with systems.client() as http:
        contract_id = await _put_variant(http, "C-REFUSED", [seats], "2026-01-01")
    event = cycle_closed(contract_id, 10)
    outcome = await start_run(dev_server_env.client, event, task_queue=task_queue, collect=False)
    result = await run_handle(dev_server_env.client, outcome.workflow_id).result()
    assert result.state is RunState.NEEDS_ATTENTION
    assert result.reason_code == ReasonCode.RATING_INVALID
    assert "charges.0.charge_model: a recurring fee is a flat amount" in result.reason
    async with systems.client() as http:
        response = await http.get(f"/erp/postings/{workflow_id_for(event)}")
    assert response.status_code == 404


async def test_a_contract_reason_for_approval_is_named_once_for_both_documents(
    dev_server_env: WorkflowEnvironment, systems: SystemsService, task_queue: str
) -> None:
    clause = "Net 90 payment terms"
    async with systems.client() as http:
        contract_id = await _raised_fee(
            http, "C-CLAUSE", pay_in_advance=True, non_standard_clauses=[clause]
        )
    event = amended(contract_id, date(2026, 10, 16), date(2026, 11, 1))
    outcome = await start_run(dev_server_env.client, event, task_queue=task_queue, collect=False)
    handle = run_handle(dev_server_env.client, outcome.workflow_id)
    status = await handle.query("status", result_type=RunStatus)
    for _ in range(100):
        if status.state is RunState.AWAITING_APPROVAL:
            break
        await asyncio.sleep(0.1)
        status = await handle.query("status", result_type=RunStatus)
    assert status.state is RunState.AWAITING_APPROVAL, status.reason
    assert [d.document_type for d in status.documents] == ["credit_note", "invoice"]
    clauses = [r for r in status.route_reasons if r.code == "non_standard_clause"]
    assert [r.message for r in clauses] == [f"Non-standard clause: {clause}"]
    await handle.terminate("test over")
