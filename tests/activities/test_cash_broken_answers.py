"""A provider, ERP or CRM that answers outside its contract fails the activity permanently,
naming the system and what was wrong, instead of being read as a payment or a posting.

The systems service always keeps its contract, so these answers come from a fake transport
(httpx.MockTransport): it is the only way to produce them."""

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from temporalio.exceptions import ApplicationError

from activities.accounts import AccountActivities
from activities.cash import CashActivities
from activities.payments import PaymentActivities
from schemas.errors import ReasonCode
from schemas.payments import (
    AccountHoldInput,
    CashPostingInput,
    ChargeInput,
    FetchChargeInput,
    OpenItemsInput,
)

CHARGE = ChargeInput(
    run_id="q2c:run-1",
    attempt=1,
    customer_id="CU-1",
    invoice_id="I-1",
    amount=Decimal("144.00"),
    currency="EUR",
)
INTENT = {"id": "pi_1", "amount": 14400, "amount_received": 14400, "currency": "eur"}


def _client(status: int, body: Any) -> httpx.AsyncClient:
    def answer(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(status, text=body)
        return httpx.Response(status, json=body)

    return httpx.AsyncClient(transport=httpx.MockTransport(answer), base_url="http://systems")


async def _refused(status: int, body: Any, call: Callable[[httpx.AsyncClient], Any]) -> str:
    async with _client(status, body) as client:
        with pytest.raises(ApplicationError) as refused:
            await call(client)
    assert (refused.value.type, refused.value.non_retryable) == (ReasonCode.BAD_REQUEST, True)
    return str(refused.value.message)


def _charge(client: httpx.AsyncClient) -> Any:
    return PaymentActivities(client=client).charge_payment(CHARGE)


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (402, {"error": {"code": "card_declined"}}, "a 402 without its intent"),
        (200, "<html>gateway</html>", "not a JSON object: <html>gateway</html>"),
        (200, INTENT | {"status": "canceled"}, "unexpected intent status 'canceled'"),
        (200, {"id": "pi_1", "status": "succeeded"}, "unreadable intent"),  # no amounts
        (200, INTENT | {"status": "succeeded", "amount": "lots"}, "unreadable intent"),
    ],
)
async def test_a_charge_answer_outside_the_contract_is_permanent(
    status: int, body: Any, reason: str
) -> None:
    assert reason in await _refused(status, body, _charge)


async def test_a_read_back_intent_outside_the_contract_is_permanent() -> None:
    def fetch(client: httpx.AsyncClient) -> Any:
        return PaymentActivities(client=client).fetch_payment(
            FetchChargeInput(payment_intent_id="pi_1")
        )

    assert "unexpected intent status None" in await _refused(200, {"id": "pi_1"}, fetch)


async def test_an_unreadable_cash_posting_or_open_items_is_permanent() -> None:
    posting = CashPostingInput(
        run_id="q2c:run-1",
        reference="pi_1",
        erp_document_id="INV-000001",
        amount=Decimal("10.00"),
        currency="EUR",
        value_date=date(2026, 11, 20),
    )

    def post(client: httpx.AsyncClient) -> Any:
        return CashActivities(client=client).post_payment(posting)

    def open_items(client: httpx.AsyncClient) -> Any:
        return CashActivities(client=client).fetch_open_items(OpenItemsInput(customer_id="CU-1"))

    assert "erp: unreadable cash posting" in await _refused(201, {"posting_key": "k"}, post)
    assert "erp: unreadable open items" in await _refused(200, [], open_items)


async def test_an_unreadable_customer_is_permanent() -> None:
    def block(client: httpx.AsyncClient) -> Any:
        hold = AccountHoldInput(customer_id="CU-1", run_id="q2c:run-1", reason="dunning")
        return AccountActivities(client=client).block_account(hold)

    assert "crm: unreadable customer" in await _refused(200, {"id": "CU-1"}, block)
