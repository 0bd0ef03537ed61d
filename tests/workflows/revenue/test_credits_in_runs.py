"""Credit notes and entities against a systems service of the test's own, through the real
posting activity and the recognition run on the dev server: a termination's credit note
reverses exactly what the invoice line had left, so nothing is recognised after the end;
two selling entities book one entry each per currency."""

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from billing.rating import rate_amendment, rate_contract
from schemas.contract import Charge, Contract
from schemas.revenue import terms_of
from schemas.steps import PostInvoiceInput
from schemas.usage import UsageSummary
from tests.billing.builders import contract
from tests.conftest import SystemsService
from tests.workflows.revenue_data import BILLED_IN_OCTOBER, post_billed_in, quarterly_fee, recognise
from tests.workflows.runs import worker_on

pytestmark = pytest.mark.asyncio(loop_scope="session")
DEFERRED = "2400 Deferred revenue"
YEAR = (date(2026, 1, 1), date(2027, 1, 1))


def _annual_contract(contract_id: str) -> Contract:
    return contract(
        Charge(
            id="platform",
            description="Platform, annual",
            kind="recurring",
            properties={"amount": "12000.00"},
            pay_in_advance=True,
        ),
        id=contract_id,
        start_date=YEAR[0],
        billing_interval="annual",
        product_line="platform",
    )


async def test_a_termination_credit_stops_the_invoice_schedule(
    dev_server_env: WorkflowEnvironment, own_systems: SystemsService, http: httpx.AsyncClient
) -> None:
    # 12,000.00 USD for 2026, billed in January, recognised by day; terminated on 16 July.
    # The hand computation is in tests/billing/revenue/test_credits.py: the credit note,
    # 5,556.16, gives back 526.03 of July and all of August..December.
    terms_contract = _annual_contract(f"ctr-end-{uuid.uuid4().hex[:8]}")
    rated = rate_contract(
        contract=terms_contract,
        usage=UsageSummary(contract_id=terms_contract.id, period_start=YEAR[0], period_end=YEAR[1]),
        period_start=YEAR[0],
        period_end=YEAR[1],
        invoice_id=f"INV-{terms_contract.id}",
    )
    # A close bills the next year in advance too: keep 2026's line, as an activation bills it.
    invoice = rated.model_copy(
        update={
            "lines": rated.lines[:1],
            "subtotal": Decimal("12000.00"),
            "total": Decimal("12000.00"),
        }
    )
    terms = terms_of(terms_contract)
    await post_billed_in(
        http,
        PostInvoiceInput(posting_key=f"k:{invoice.invoice_id}", invoice=invoice, revenue=terms),
        scheduled=datetime(2026, 1, 5, 9, tzinfo=UTC),
    )
    [note] = rate_amendment(
        previous_contract=terms_contract,
        contract=terms_contract.model_copy(update={"charges": []}),
        change_date=date(2026, 7, 16),
        invoice_id=f"INV-end-{terms_contract.id}",
        credit_note_id=f"CN-end-{terms_contract.id}",
        activation_billed=True,
    )
    key = f"k:{note.invoice_id}"
    matched = terms.model_copy(update={"match_credits": True})
    await post_billed_in(
        http,
        PostInvoiceInput(posting_key=key, invoice=note, revenue=matched),
        scheduled=datetime(2026, 7, 20, 9, tzinfo=UTC),
    )
    lines = (await http.get("/erp/revenue/schedule-lines", params={"posting_key": key})).json()
    assert [(line["month"], line["amount"]) for line in lines] == [
        ("2026-07", "-526.03"),
        ("2026-08", "-1019.18"),
        ("2026-09", "-986.30"),
        ("2026-10", "-1019.18"),
        ("2026-11", "-986.30"),
        ("2026-12", "-1019.17"),
    ]
    task_queue = f"q2c-revenue-credits-{uuid.uuid4()}"
    async with worker_on(dev_server_env, own_systems, task_queue):
        july = await recognise(dev_server_env, task_queue, "2026-07")
        december = await recognise(dev_server_env, task_queue, "2026-12")
    # Through July: January..July of the invoice (1,019.18 × 4 + 920.55 + 986.30 × 2 =
    # 6,969.87) less July's 526.03 = 6,443.84 = 12,000.00 − 5,556.16: all that is kept.
    assert [str(p.amount) for p in july.postings] == ["6443.84"]
    # August..December: the invoice's and the credit's lines cancel; nothing is recognised.
    assert [str(p.amount) for p in december.postings] == ["0.00"]
    balance = (
        await http.get(
            "/erp/revenue/deferred-balance", params={"currency": "USD", "account": DEFERRED}
        )
    ).json()
    assert (balance["ledger"], balance["scheduled"]) == ("0.00", "0.00")


async def test_two_entities_book_an_entry_each(
    dev_server_env: WorkflowEnvironment, own_systems: SystemsService, http: httpx.AsyncClient
) -> None:
    # Two quarterly fees in EUR, 300.00 and 600.00 (100.00 and 200.00 in October), one
    # sold by the default entity, one by the Irish one: two entries for October, the
    # default entity's under the key it always had.
    home, _ = quarterly_fee("EUR", "300.00")
    irish, irish_terms = quarterly_fee("EUR", "600.00")
    irish = irish.model_copy(
        update={
            "posting_key": f"{irish.posting_key}:ie",
            "revenue": irish_terms.model_copy(update={"entity": "acme-ie"}),
        }
    )
    for document in (home, irish):
        await post_billed_in(http, document, scheduled=BILLED_IN_OCTOBER)
    task_queue = f"q2c-revenue-entities-{uuid.uuid4()}"
    async with worker_on(dev_server_env, own_systems, task_queue):
        result = await recognise(dev_server_env, task_queue, "2026-10")
    assert sorted((p.posting_key, p.entity, str(p.amount)) for p in result.postings) == [
        ("revenue:2026-10:EUR", "", "100.00"),
        ("revenue:2026-10:EUR:acme-ie", "acme-ie", "200.00"),
    ]
    booked = (await http.get("/erp/revenue/recognitions/revenue:2026-10:EUR:acme-ie")).json()
    assert (booked["entity"], booked["amount"]) == ("acme-ie", "200.00")
    # One reconciliation per currency: 900.00 deferred, 300.00 released, 600.00 left.
    [reconciled] = result.reconciliations
    assert (str(reconciled.ledger_deferred), str(reconciled.scheduled_deferred)) == (
        "600.00",
        "600.00",
    )
