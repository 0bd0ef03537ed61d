"""A mid-period upgrade against the real CRM: the terms on each side of the change come from
the seeded C-1016's versions, and draft_amendment credits the old fee and invoices the new."""

import dataclasses
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.billing import BillingActivities
from activities.crm import CrmActivities
from billing.charges import priced
from billing.tax import Seller, default_engine
from schemas.contract import Contract
from schemas.errors import ReasonCode
from schemas.steps import (
    AmendmentDocuments,
    DraftAmendmentInput,
    FetchContractInput,
    ValidateCustomerInput,
)
from tests.conftest import SystemsService

CHANGE = date(2026, 10, 16)
NOVEMBER = date(2026, 11, 1)


@pytest.fixture(scope="module")
def crm_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SystemsService]:
    """Its own seeded CRM, so the contracts and faults written here touch no other test."""
    service = SystemsService.in_folder(tmp_path_factory.mktemp("crm"))
    service.start()
    yield service
    service.stop()


@pytest.fixture
async def http(crm_service: SystemsService) -> AsyncIterator[httpx.AsyncClient]:
    async with crm_service.client() as client:
        yield client
        (await client.delete("/admin/faults")).raise_for_status()


async def _fetch(http: httpx.AsyncClient, day: date, contract_id: str = "C-1016") -> Contract:
    crm = CrmActivities(client=http)
    fetch = FetchContractInput(contract_id=contract_id, as_of=day)
    contract: Contract = await ActivityEnvironment().run(crm.fetch_contract, fetch)
    return contract


def _fee(contract: Contract) -> Decimal:
    return Decimal(contract.charges[0].properties["amount"])


async def _draft(previous: Contract, contract: Contract, change: date) -> AmendmentDocuments:
    billing = BillingActivities(tax_engine=default_engine(), seller=Seller())
    draft = DraftAmendmentInput(
        previous_contract=previous,
        contract=contract,
        change_date=change,
        invoice_id="C-1016:amendment:2026-10-16:2026-11-01",
        credit_note_id="C-1016:amendment:2026-10-16:2026-11-01:credit-note",
    )
    documents: AmendmentDocuments = await ActivityEnvironment().run(billing.draft_amendment, draft)
    return documents


async def test_fetch_contract_reads_the_terms_on_each_side_of_the_change(
    http: httpx.AsyncClient,
) -> None:
    before = await _fetch(http, CHANGE - timedelta(days=1))
    assert (before.id, before.plan, _fee(before)) == ("C-1016", "Growth", Decimal("800.00"))
    for day in (CHANGE, date(2026, 12, 31)):
        after = await _fetch(http, day)
        assert (after.plan, _fee(after)) == ("Scale", Decimal("1500.00")), day


async def test_fetch_contract_before_the_first_terms_is_a_permanent_not_found(
    http: httpx.AsyncClient,
) -> None:
    with pytest.raises(ApplicationError) as missing:
        await _fetch(http, date(2025, 12, 31))
    assert missing.value.non_retryable
    assert missing.value.type == ReasonCode.CONTRACT_NOT_FOUND
    assert missing.value.message.startswith(
        "no terms of contract C-1016 were in force on 2025-12-31: "
    )
    assert "its first terms took effect on 2026-01-01" in missing.value.message


async def test_fetch_contract_refuses_terms_it_cannot_read_naming_the_field(
    http: httpx.AsyncClient,
) -> None:
    # The CRM stores a usage charge without a metric; q2c cannot rate one.
    body = (await http.get("/crm/contracts/C-1016", params={"as_of": "2026-01-01"})).json()
    body["charges"].append({"id": "calls", "description": "API calls", "kind": "usage"})
    del body["id"]
    (await http.put("/crm/contracts/C-BROKEN", json=body)).raise_for_status()
    with pytest.raises(ApplicationError) as invalid:
        await _fetch(http, CHANGE, contract_id="C-BROKEN")
    assert invalid.value.non_retryable
    assert invalid.value.type == ReasonCode.CONTRACT_INVALID
    assert invalid.value.message.startswith("contract.charges.1: ")
    assert "a usage charge needs a metric" in invalid.value.message


async def test_fetch_contract_heartbeats_while_the_crm_is_slow(http: httpx.AsyncClient) -> None:
    (await http.put("/admin/faults", json={"system": "crm", "latency_ms": 900})).raise_for_status()
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, heartbeat_timeout=timedelta(seconds=0.3))
    beats: list[object] = []
    env.on_heartbeat = lambda *details: beats.append(details)
    crm = CrmActivities(client=http)
    contract = await env.run(
        crm.fetch_contract, FetchContractInput(contract_id="C-1016", as_of=CHANGE)
    )
    assert contract.plan == "Scale"
    assert len(beats) >= 3  # a beat every 0.1 s through a 0.9 s call


async def test_validate_customer_as_of_validates_the_terms_in_force_then(
    http: httpx.AsyncClient,
) -> None:
    crm = CrmActivities(client=http)
    env = ActivityEnvironment()
    for day, plan in ((CHANGE - timedelta(days=1), "Growth"), (CHANGE, "Scale"), (None, "Scale")):
        validated = await env.run(
            crm.validate_customer, ValidateCustomerInput(contract_id="C-1016", as_of=day)
        )
        assert (validated.contract.plan, validated.customer.id) == (plan, "CU-1016"), day
        assert validated.blocking == []


async def test_an_upgrade_on_the_16th_credits_16_31_of_the_old_fee_and_bills_16_31_of_the_new(
    http: httpx.AsyncClient,
) -> None:
    previous = await _fetch(http, CHANGE - timedelta(days=1))
    amended = await _fetch(http, CHANGE)
    documents = await _draft(previous, amended, CHANGE)

    credit = documents.credit_note
    assert credit is not None
    assert credit.document_type == "credit_note"
    assert credit.invoice_id == "C-1016:amendment:2026-10-16:2026-11-01:credit-note"
    assert (credit.contract_id, credit.customer_id, credit.currency) == ("C-1016", "CU-1016", "EUR")
    assert (credit.period_start, credit.period_end) == (CHANGE, NOVEMBER)
    [line] = credit.lines
    # 800.00 × 16/31 = 412.903…: the 16 unused days of October, actual/actual.
    assert (line.charge_id, line.amount) == ("c1016-platform", Decimal("412.90"))
    assert abs(line.unrounded_amount - Decimal("800.00") * 16 / 31) < Decimal("1e-20")
    assert (line.period_start, line.period_end) == (CHANGE, NOVEMBER)
    assert (credit.subtotal, credit.tax_total, credit.total) == (
        Decimal("412.90"),
        Decimal("0"),
        Decimal("412.90"),
    )

    invoice = documents.invoice
    assert invoice is not None
    assert invoice.document_type == "invoice"
    assert invoice.invoice_id == "C-1016:amendment:2026-10-16:2026-11-01"
    assert (invoice.period_start, invoice.period_end) == (CHANGE, NOVEMBER)
    [line] = invoice.lines
    # 1,500.00 × 16/31 = 774.193…
    assert (line.charge_id, line.amount) == ("c1016-platform", Decimal("774.19"))
    assert abs(line.unrounded_amount - Decimal("1500.00") * 16 / 31) < Decimal("1e-20")
    assert invoice.total == Decimal("774.19")


async def test_an_amendment_in_the_first_period_is_a_permanent_rating_error(
    http: httpx.AsyncClient,
) -> None:
    first = await _fetch(http, date(2026, 1, 1))
    upgraded = first.model_copy(update={"plan": "Scale"})
    with pytest.raises(ApplicationError) as refused:
        await _draft(first, upgraded, date(2026, 1, 16))
    assert refused.value.non_retryable
    assert refused.value.type == ReasonCode.RATING_INVALID
    assert refused.value.message.startswith("change_date: 2026-01-16 falls in the contract's first")


async def test_the_billing_activities_keep_no_parse_of_a_past_contract(
    http: httpx.AsyncClient,
) -> None:
    # A worker receives every contract deserialised: a kept parse could never be hit again,
    # and the cache would hold thousands of past contracts alive.
    previous = await _fetch(http, CHANGE - timedelta(days=1))
    amended = await _fetch(http, CHANGE)
    await _draft(previous, amended, CHANGE)
    assert priced._cache == {}
