"""Payments, cash postings and account holds against the real systems service over HTTP:
a retried activity never charges or posts twice; declines are results; faults map to the
taxonomy."""

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from temporalio.exceptions import ApplicationError

from activities.accounts import AccountActivities
from activities.cash import CashActivities
from activities.erp import ErpActivities
from activities.errors import THROTTLED, TRANSIENT
from activities.payments import PaymentActivities
from schemas.errors import ReasonCode
from schemas.payments import (
    AccountHoldInput,
    CashPostingInput,
    ChargeInput,
    FetchChargeInput,
    OpenItemsInput,
    ReadCashPostingInput,
    RefundInput,
)
from schemas.steps import PostInvoiceInput
from tests.activities.test_erp_exactly_once import _invoice
from tests.conftest import SystemsService


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SystemsService]:
    """A service of its own, so the faults set here touch no other test."""
    service = SystemsService.in_folder(tmp_path_factory.mktemp("cash"))
    service.start()
    yield service
    service.stop()


@pytest.fixture
async def http(service: SystemsService) -> AsyncIterator[httpx.AsyncClient]:
    async with service.client() as client:
        yield client
        (await client.delete("/admin/faults")).raise_for_status()


def _id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def _card(http: httpx.AsyncClient, customer: str, **behaviour: Any) -> None:
    body = {"customer": customer, "type": "card", "brand": "visa", "last4": "4242"} | behaviour
    (await http.put(f"/payments/payment_methods/pm-{customer}", json=body)).raise_for_status()


def _charge(customer: str, run: str, attempt: int = 1, **fields: Any) -> ChargeInput:
    values: dict[str, Any] = {
        "run_id": run,
        "attempt": attempt,
        "customer_id": customer,
        "invoice_id": f"{run}:invoice",
        "amount": Decimal("144.00"),
        "currency": "EUR",
    }
    return ChargeInput.model_validate(values | fields)


async def _intents(http: httpx.AsyncClient, customer: str) -> list[dict[str, Any]]:
    response = await http.get("/payments/payment_intents", params={"customer": customer})
    return list(response.json())


async def test_a_good_card_is_charged_once_however_often_asked(
    http: httpx.AsyncClient,
) -> None:
    customer, run, payments = _id("CU"), _id("q2c:run"), PaymentActivities(client=http)
    await _card(http, customer)
    first = await payments.charge_payment(_charge(customer, run))
    again = await payments.charge_payment(_charge(customer, run))
    assert (first.status, first.amount_received, first.replayed) == (
        "succeeded",
        Decimal("144.00"),
        False,
    )
    assert (again.payment_intent_id, again.replayed) == (first.payment_intent_id, True)
    assert first.idempotency_key == f"{run}:charge:1"
    [intent] = await _intents(http, customer)
    assert (intent["amount"], intent["metadata"]["run_id"]) == (14400, run)
    read = await payments.fetch_payment(FetchChargeInput(payment_intent_id=intent["id"]))
    assert read.status == "succeeded"


async def test_a_card_declined_twice_is_paid_on_the_third_attempt(
    http: httpx.AsyncClient,
) -> None:
    customer, run, payments = _id("CU"), _id("q2c:run"), PaymentActivities(client=http)
    await _card(http, customer, decline_next=2, decline_code="insufficient_funds")
    first = await payments.charge_payment(_charge(customer, run, 1))
    assert (first.status, first.decline_code) == ("requires_payment_method", "insufficient_funds")
    assert first.decline_message == "Your card has insufficient funds."
    assert first.amount_received == 0
    intent = first.payment_intent_id
    second = await payments.charge_payment(_charge(customer, run, 2, payment_intent_id=intent))
    assert second.status == "requires_payment_method"
    # The second attempt retried by Temporal: the provider replays its decline.
    replay = await payments.charge_payment(_charge(customer, run, 2, payment_intent_id=intent))
    assert (replay.status, replay.replayed) == ("requires_payment_method", True)
    third = await payments.charge_payment(_charge(customer, run, 3, payment_intent_id=intent))
    assert (third.status, third.decline_code, third.amount_received) == (
        "succeeded",
        None,
        Decimal("144.00"),
    )
    assert [i["id"] for i in await _intents(http, customer)] == [intent]


async def test_a_lost_response_is_retried_without_a_second_charge(
    http: httpx.AsyncClient,
) -> None:
    customer, run, payments = _id("CU"), _id("q2c:run"), PaymentActivities(client=http)
    await _card(http, customer)
    rule = {"system": "payments", "drop_response_rate": 1}
    (await http.put("/admin/faults", json=rule)).raise_for_status()
    with pytest.raises(ApplicationError) as lost:
        await payments.charge_payment(_charge(customer, run))
    assert (lost.value.type, lost.value.non_retryable) == (TRANSIENT, False)
    (await http.delete("/admin/faults")).raise_for_status()
    retried = await payments.charge_payment(_charge(customer, run))
    assert (retried.status, retried.replayed) == ("succeeded", True)
    assert len(await _intents(http, customer)) == 1


async def test_an_unavailable_provider_is_retried_after_its_retry_after(
    http: httpx.AsyncClient,
) -> None:
    customer, payments = _id("CU"), PaymentActivities(client=http)
    rule = {"system": "payments", "unavailable_rate": 1, "retry_after_seconds": 7}
    (await http.put("/admin/faults", json=rule)).raise_for_status()
    with pytest.raises(ApplicationError) as unavailable:
        await payments.charge_payment(_charge(customer, _id("run")))
    assert unavailable.value.type == THROTTLED
    assert unavailable.value.next_retry_delay == timedelta(seconds=7)
    (
        await http.put("/admin/faults", json={"system": "payments", "error_rate": 1})
    ).raise_for_status()
    with pytest.raises(ApplicationError) as broken:
        await payments.charge_payment(_charge(customer, _id("run")))
    assert (broken.value.type, broken.value.non_retryable) == (TRANSIENT, False)


async def test_bad_charges_are_permanent(http: httpx.AsyncClient) -> None:
    customer, run, payments = _id("CU"), _id("q2c:run"), PaymentActivities(client=http)
    await _card(http, customer)
    await payments.charge_payment(_charge(customer, run))
    with pytest.raises(ApplicationError) as conflict:
        await payments.charge_payment(_charge(customer, run, amount=Decimal("145.00")))
    assert (conflict.value.type, conflict.value.non_retryable) == (
        ReasonCode.PAYMENT_CONFLICT,
        True,
    )
    assert "idempotency_error" in conflict.value.message
    with pytest.raises(ApplicationError) as finer:
        await payments.charge_payment(_charge(customer, _id("run"), amount=Decimal("1.005")))
    assert finer.value.type == ReasonCode.BAD_REQUEST
    assert "finer than the currency's minor unit" in finer.value.message
    with pytest.raises(ApplicationError) as no_card:
        await payments.charge_payment(_charge(_id("CU"), _id("run")))
    assert (no_card.value.type, no_card.value.non_retryable) == (ReasonCode.BAD_REQUEST, True)
    assert "no default payment method" in no_card.value.message
    with pytest.raises(ApplicationError) as unknown:
        await payments.fetch_payment(FetchChargeInput(payment_intent_id="pi_nope"))
    assert unknown.value.non_retryable


async def test_a_refund_asked_twice_is_made_once(http: httpx.AsyncClient) -> None:
    customer, run, payments = _id("CU"), _id("q2c:run"), PaymentActivities(client=http)
    await _card(http, customer)
    paid = await payments.charge_payment(_charge(customer, run, currency="JPY", amount=5000))
    assert paid.amount == Decimal("5000")
    refund = RefundInput(
        run_id=run,
        reference="CN-000001",
        payment_intent_id=paid.payment_intent_id,
        amount=Decimal("1200"),
        currency="JPY",
    )
    first, again = await payments.refund_payment(refund), await payments.refund_payment(refund)
    assert (first.refund_id, first.amount, first.replayed) == (
        again.refund_id,
        Decimal("1200"),
        False,
    )
    assert again.replayed
    [intent] = await _intents(http, customer)
    assert intent["amount_refunded"] == 1200
    with pytest.raises(ApplicationError) as too_much:
        await payments.refund_payment(
            refund.model_copy(update={"reference": "CN-2", "amount": Decimal("3801")})
        )
    assert (too_much.value.type, too_much.value.non_retryable) == (ReasonCode.BAD_REQUEST, True)
    with pytest.raises(ApplicationError) as finer:  # the yen has no minor unit below 1
        await payments.refund_payment(
            refund.model_copy(update={"reference": "CN-3", "amount": Decimal("0.5")})
        )
    assert (finer.value.type, finer.value.non_retryable) == (ReasonCode.BAD_REQUEST, True)
    assert "finer than the currency's minor unit" in finer.value.message


async def _posted_invoice(http: httpx.AsyncClient, customer: str) -> str:
    key = f"q2c:C-1001:cycle:{uuid.uuid4()}"
    invoice = _invoice(key).model_copy(update={"customer_id": customer})  # 144.00 EUR
    posted = await ErpActivities(client=http).post_invoice(
        PostInvoiceInput(posting_key=key, invoice=invoice)
    )
    return posted.erp_document_id


def _cash(run: str, document: str, amount: str, reference: str = "pi_1") -> CashPostingInput:
    return CashPostingInput(
        run_id=run,
        reference=reference,
        erp_document_id=document,
        amount=Decimal(amount),
        currency="EUR",
        value_date=date(2026, 11, 20),
    )


async def test_a_payment_is_posted_once_and_read_back(http: httpx.AsyncClient) -> None:
    customer, run, cash = _id("CU"), _id("q2c:run"), CashActivities(client=http)
    document = await _posted_invoice(http, customer)
    first = await cash.post_payment(_cash(run, document, "100.00"))
    again = await cash.post_payment(_cash(run, document, "100.00"))
    assert first.posting_key == f"{run}:payment:pi_1"
    assert (first.applied, first.open_after, first.already_posted) == (
        Decimal("100.00"),
        Decimal("44.00"),  # 144.00 - 100.00
        False,
    )
    assert again.already_posted and again.cash_document_id == first.cash_document_id
    read = await cash.read_cash_posting(ReadCashPostingInput(posting_key=first.posting_key))
    assert (read.kind, read.document, read.amount) == ("payment", document, Decimal("100.00"))
    debits = sum((line.debit for line in read.journal), Decimal(0))
    assert debits == sum((line.credit for line in read.journal), Decimal(0)) == Decimal("100.00")
    over = await cash.post_payment(_cash(run, document, "50.00", reference="bank-7"))
    assert (over.applied, over.to_credit) == (Decimal("44.00"), Decimal("6.00"))
    items = await cash.fetch_open_items(OpenItemsInput(customer_id=customer))
    assert (items.items, items.credit_balance) == ([], {"EUR": Decimal("6.00")})
    settled = await cash.fetch_open_items(
        OpenItemsInput(customer_id=customer, include_settled=True)
    )
    assert [(i.erp_document_id, i.paid) for i in settled.items] == [(document, Decimal("144.00"))]


async def test_cash_postings_that_cannot_apply_are_permanent(http: httpx.AsyncClient) -> None:
    customer, run, cash = _id("CU"), _id("q2c:run"), CashActivities(client=http)
    document = await _posted_invoice(http, customer)
    dollars = _cash(run, document, "10.00").model_copy(update={"currency": "USD"})
    with pytest.raises(ApplicationError) as currency:
        await cash.post_payment(dollars)
    assert (currency.value.type, currency.value.non_retryable) == (
        ReasonCode.CURRENCY_MISMATCH,
        True,
    )
    assert "USD differs from" in currency.value.message
    with pytest.raises(ApplicationError) as unknown:
        await cash.post_payment(_cash(run, "INV-999999", "10.00"))
    assert unknown.value.type == ReasonCode.DOCUMENT_NOT_FOUND
    await cash.post_payment(_cash(run, document, "10.00"))
    with pytest.raises(ApplicationError) as conflict:
        await cash.post_payment(_cash(run, document, "11.00"))
    assert conflict.value.type == ReasonCode.POSTING_CONFLICT
    with pytest.raises(ApplicationError) as too_much:
        await cash.post_write_off(_cash(run, document, "134.01", reference="1"))
    assert too_much.value.type == ReasonCode.BAD_REQUEST
    written = await cash.post_write_off(_cash(run, document, "134.00", reference="1"))
    assert (written.posting_key, written.open_after) == (f"{run}:write-off:1", Decimal("0.00"))
    refunded = await cash.post_refund(_cash(run, document, "10.00", reference="re_1"))
    assert refunded.open_after == Decimal("10.00")


async def test_an_erp_outage_is_retried(http: httpx.AsyncClient) -> None:
    rule = {"system": "erp", "throttle_rate": 1, "retry_after_seconds": 3}
    (await http.put("/admin/faults", json=rule)).raise_for_status()
    with pytest.raises(ApplicationError) as throttled:
        await CashActivities(client=http).post_payment(_cash("run", "INV-000001", "1.00"))
    assert throttled.value.next_retry_delay == timedelta(seconds=3)


async def test_an_account_is_held_per_run_and_released_idempotently(
    http: httpx.AsyncClient,
) -> None:
    customer = _id("CU")
    body = {"name": "Hold Co", "email": "ar@hold.example", "currency": "EUR"}
    (await http.put(f"/crm/customers/{customer}", json=body)).raise_for_status()
    accounts = AccountActivities(client=http)
    run_a, run_b = "q2c:C-1:cycle:2026-10-01:2026-11-01", "q2c:C-1:cycle:2026-11-01:2026-12-01"
    held = await accounts.block_account(
        AccountHoldInput(customer_id=customer, run_id=run_a, reason="30 days past due")
    )
    again = await accounts.block_account(AccountHoldInput(customer_id=customer, run_id=run_a))
    assert (held.blocked, held.holders, again.holders) == (True, [run_a], [run_a])
    await accounts.block_account(AccountHoldInput(customer_id=customer, run_id=run_b))
    released = await accounts.unblock_account(AccountHoldInput(customer_id=customer, run_id=run_a))
    assert (released.blocked, released.holders) == (True, [run_b])
    await accounts.unblock_account(AccountHoldInput(customer_id=customer, run_id=run_b))
    twice = await accounts.unblock_account(AccountHoldInput(customer_id=customer, run_id=run_b))
    assert (twice.blocked, twice.holders) == (False, [])
    with pytest.raises(ApplicationError) as unknown:
        await accounts.block_account(AccountHoldInput(customer_id="CU-NOBODY", run_id=run_a))
    assert unknown.value.type == ReasonCode.CUSTOMER_NOT_FOUND
