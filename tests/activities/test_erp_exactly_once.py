"""Posting to the real ERP service: exactly once through lost responses, retries, races
and conflicts; reconcile compares line by line; long calls heartbeat."""

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.erp import ErpActivities
from activities.errors import THROTTLED, TRANSIENT
from schemas.errors import ReasonCode
from schemas.invoice import Invoice, InvoiceLine, TaxLine
from schemas.steps import PostInvoiceInput, ReconcileInput
from tests.conftest import SystemsService


@pytest.fixture(scope="module")
def erp_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SystemsService]:
    """Its own ERP, so faults and postings here touch no other test."""
    service = SystemsService.in_folder(tmp_path_factory.mktemp("erp"))
    service.start()
    yield service
    service.stop()


@pytest.fixture
async def http(erp_service: SystemsService) -> AsyncIterator[httpx.AsyncClient]:
    async with erp_service.client() as client:
        yield client
        (await client.delete("/admin/faults")).raise_for_status()


def _invoice(key: str, *, platform: str = "100.00", tax: str = "19.00") -> Invoice:
    lines = [
        InvoiceLine(
            line_id=f"L{n}",
            charge_id=charge,
            description=charge,
            charge_model="standard",
            amount=Decimal(amount),
            unrounded_amount=Decimal(amount),
            rule="flat",
        )
        for n, (charge, amount) in enumerate((("platform", platform), ("support", "25.00")), 1)
    ]
    subtotal = sum((line.amount for line in lines), Decimal(0))
    return Invoice(
        invoice_id=key.removeprefix("q2c:"),
        contract_id="C-1001",
        customer_id="CU-1001",
        currency="EUR",
        period_start=date(2026, 3, 1),
        period_end=date(2026, 4, 1),
        lines=lines,
        # The ERP checks that the tax lines make the tax total: 19% of the 100.00 platform fee.
        tax_lines=[
            TaxLine(
                line_id="L1",
                country="DE",
                jurisdiction="DE",
                level="country",
                tax_type="vat",
                rate=Decimal("0.19"),
                taxable_amount=Decimal("100.00"),
                tax_amount=Decimal(tax),
                unrounded_tax_amount=Decimal(tax),
                taxability_reason="standard_rated",
                rule_id="DE-VAT-STD",
                source="test",
                category_code="S",
            )
        ],
        subtotal=subtotal,
        tax_total=Decimal(tax),
        total=subtotal + Decimal(tax),
    )


def _key() -> str:
    return f"q2c:C-1001:cycle:{uuid.uuid4()}"


async def _postings_for(http: httpx.AsyncClient, key: str) -> list[str]:
    response = await http.get("/erp/postings", params={"contract_id": "C-1001", "limit": 1000})
    return [p["erp_document_id"] for p in response.json() if p["posting_key"] == key]


async def test_a_response_lost_after_the_commit_is_found_on_retry(
    http: httpx.AsyncClient,
) -> None:
    erp, key = ErpActivities(client=http), _key()
    rule = {"system": "erp", "drop_response_rate": 1.0}
    (await http.put("/admin/faults", json=rule)).raise_for_status()
    post = PostInvoiceInput(posting_key=key, invoice=_invoice(key))
    with pytest.raises(ApplicationError) as lost:
        await erp.post_invoice(post)
    assert lost.value.type == TRANSIENT and not lost.value.non_retryable
    assert "504" in lost.value.message
    (await http.delete("/admin/faults")).raise_for_status()
    # Temporal retries the activity: the ERP answers the same POST with what it committed.
    retried = await erp.post_invoice(post)
    assert retried.already_posted
    assert await _postings_for(http, key) == [retried.erp_document_id]


async def test_a_second_post_of_the_same_key_changes_nothing(http: httpx.AsyncClient) -> None:
    erp, key = ErpActivities(client=http), _key()
    post = PostInvoiceInput(posting_key=key, invoice=_invoice(key))
    first = await erp.post_invoice(post)
    second = await erp.post_invoice(post)
    assert not first.already_posted and second.already_posted
    assert first.erp_document_id == second.erp_document_id
    assert await _postings_for(http, key) == [first.erp_document_id]


async def test_concurrent_posts_of_one_key_make_one_document(http: httpx.AsyncClient) -> None:
    erp, key = ErpActivities(client=http), _key()
    post = PostInvoiceInput(posting_key=key, invoice=_invoice(key))
    results = await asyncio.gather(*(erp.post_invoice(post) for _ in range(6)))
    assert len({r.erp_document_id for r in results}) == 1
    assert len(await _postings_for(http, key)) == 1


async def test_the_same_key_with_another_invoice_is_a_permanent_conflict(
    http: httpx.AsyncClient,
) -> None:
    erp, key = ErpActivities(client=http), _key()
    await erp.post_invoice(PostInvoiceInput(posting_key=key, invoice=_invoice(key)))
    changed = _invoice(key, platform="101.00")
    with pytest.raises(ApplicationError) as conflict:
        await erp.post_invoice(PostInvoiceInput(posting_key=key, invoice=changed))
    assert conflict.value.non_retryable
    assert conflict.value.type == ReasonCode.POSTING_CONFLICT
    assert key in conflict.value.message
    # Which document the ERP holds, and how the new invoice differs from it.
    [posted] = await _postings_for(http, key)
    assert conflict.value.message.startswith(f"posted earlier as {posted}; re-rated differs: ")
    assert "lines.0.amount: re-rated 101.00, posted 100.00" in conflict.value.message


async def test_an_invoice_the_erp_refuses_is_permanent_with_the_field(
    http: httpx.AsyncClient,
) -> None:
    erp, key = ErpActivities(client=http), _key()
    broken = _invoice(key).model_copy(update={"total": Decimal("1.00")})
    with pytest.raises(ApplicationError) as refused:
        await erp.post_invoice(PostInvoiceInput(posting_key=key, invoice=broken))
    assert refused.value.non_retryable and refused.value.type == ReasonCode.BAD_REQUEST
    assert "422" in refused.value.message and "total" in refused.value.message
    assert await _postings_for(http, key) == []


async def test_throttling_honours_retry_after(http: httpx.AsyncClient) -> None:
    rule = {"system": "erp", "throttle_rate": 1.0, "retry_after_seconds": 3}
    (await http.put("/admin/faults", json=rule)).raise_for_status()
    key = _key()
    with pytest.raises(ApplicationError) as throttled:
        await ErpActivities(client=http).post_invoice(
            PostInvoiceInput(posting_key=key, invoice=_invoice(key))
        )
    assert throttled.value.type == THROTTLED
    assert throttled.value.next_retry_delay == timedelta(seconds=3)


async def test_reconcile_matches_a_posting_equal_to_its_invoice(http: httpx.AsyncClient) -> None:
    erp, key = ErpActivities(client=http), _key()
    invoice = _invoice(key)
    await erp.post_invoice(PostInvoiceInput(posting_key=key, invoice=invoice))
    result = await erp.reconcile(ReconcileInput.of(key, invoice))
    assert result.matched and result.differences == []
    assert result.erp_total == invoice.total


async def test_reconcile_names_each_line_and_total_that_differs(http: httpx.AsyncClient) -> None:
    erp, key = ErpActivities(client=http), _key()
    await erp.post_invoice(PostInvoiceInput(posting_key=key, invoice=_invoice(key)))
    expected = _invoice(key, platform="90.00")
    result = await erp.reconcile(ReconcileInput.of(key, expected))
    assert not result.matched
    fields = {d.field: (d.expected, d.found) for d in result.differences}
    assert fields["lines.0.amount"] == ("90.00", "100.00")
    assert fields["subtotal"] == ("115.00", "125.00")
    assert fields["total"] == ("134.00", "144.00")
    assert "lines.1.amount" not in fields


async def test_reconcile_of_a_posting_the_erp_does_not_have_is_a_difference(
    http: httpx.AsyncClient,
) -> None:
    key = _key()
    result = await ErpActivities(client=http).reconcile(ReconcileInput.of(key, _invoice(key)))
    assert not result.matched
    assert result.differences[0].field == "posting"


def _counting_beats(heartbeat_timeout: timedelta) -> tuple[ActivityEnvironment, list[object]]:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, heartbeat_timeout=heartbeat_timeout)
    beats: list[object] = []
    env.on_heartbeat = lambda *details: beats.append(details)
    return env, beats


async def test_a_slow_call_heartbeats_while_it_waits(http: httpx.AsyncClient) -> None:
    (await http.put("/admin/faults", json={"system": "erp", "latency_ms": 900})).raise_for_status()
    env, beats = _counting_beats(timedelta(seconds=0.3))
    key = _key()
    erp = ErpActivities(client=http)
    result = await env.run(
        erp.post_invoice, PostInvoiceInput(posting_key=key, invoice=_invoice(key))
    )
    assert result.erp_document_id
    # One ERP call of 0.9 s, a beat every 0.1 s after the first 0.1 s.
    assert len(beats) >= 5


async def test_a_quick_call_sends_no_heartbeat(http: httpx.AsyncClient) -> None:
    # A heartbeat is a server call and a database write; a call well within the timeout
    # needs none.
    env, beats = _counting_beats(timedelta(seconds=30))
    key = _key()
    erp = ErpActivities(client=http)
    await env.run(erp.post_invoice, PostInvoiceInput(posting_key=key, invoice=_invoice(key)))
    await env.run(erp.reconcile, ReconcileInput.of(key, _invoice(key)))
    assert beats == []
