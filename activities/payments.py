"""The payment provider: charge the customer's default payment method, read a charge back,
refund. Every write carries an idempotency key built from the run id, so a retried activity
gets the provider's first answer back instead of charging again.
"""

from decimal import Decimal
from typing import Any

import httpx
from pydantic import ValidationError
from temporalio import activity

from activities.errors import permanent, raise_for_status
from activities.heartbeat import heartbeating
from activities.paths import segment
from billing.money import from_minor_units, to_minor_units
from schemas.errors import ReasonCode
from schemas.payments import (
    ChargeInput,
    ChargeResult,
    FetchChargeInput,
    RefundInput,
    RefundResult,
    charge_idempotency_key,
    refund_idempotency_key,
)

DECLINED = 402
"""The provider's answer to a declined card: the intent is in the body, not an error."""


class PaymentActivities:
    def __init__(self, *, client: httpx.AsyncClient) -> None:
        self._client = client

    @activity.defn
    async def charge_payment(self, input: ChargeInput) -> ChargeResult:
        """Create and confirm an intent (or confirm `payment_intent_id` again) under the key
        `<run id>:charge:<attempt>`: succeeded, processing, or declined with its code."""
        key = charge_idempotency_key(input.run_id, input.attempt)
        amount = _minor_units(input.amount, input.currency)
        async with heartbeating():
            if input.payment_intent_id is None:
                response = await self._client.post(
                    "/payments/payment_intents",
                    json={
                        "amount": amount,
                        "currency": input.currency.lower(),
                        "customer": input.customer_id,
                        "confirm": True,
                        "off_session": True,
                        "description": f"Invoice {input.invoice_id}",
                        "metadata": {
                            "run_id": input.run_id,
                            "invoice_id": input.invoice_id,
                            "erp_document_id": input.erp_document_id,
                        },
                    },
                    headers={"Idempotency-Key": key},
                )
            else:
                response = await self._client.post(
                    f"/payments/payment_intents/{segment(input.payment_intent_id)}/confirm",
                    json={},
                    headers={"Idempotency-Key": key},
                )
        if response.status_code == DECLINED:
            intent = _body(response).get("error", {}).get("payment_intent")
            if not isinstance(intent, dict):
                raise permanent(ReasonCode.BAD_REQUEST, "payments: a 402 without its intent")
        else:
            raise_for_status(response, system="payments", conflict=ReasonCode.PAYMENT_CONFLICT)
            intent = _body(response)
        return _charge_result(intent, key=key, replayed=_replayed(response))

    @activity.defn
    async def fetch_payment(self, input: FetchChargeInput) -> ChargeResult:
        """The intent as the provider holds it now, e.g. a processing debit that settled."""
        async with heartbeating():
            response = await self._client.get(
                f"/payments/payment_intents/{segment(input.payment_intent_id)}"
            )
        raise_for_status(response, system="payments")
        return _charge_result(_body(response), key="", replayed=False)

    @activity.defn
    async def refund_payment(self, input: RefundInput) -> RefundResult:
        """Refund under the key `<run id>:refund:<reference>`: asked twice, refunded once."""
        key = refund_idempotency_key(input.run_id, input.reference)
        amount = _minor_units(input.amount, input.currency)
        async with heartbeating():
            response = await self._client.post(
                "/payments/refunds",
                json={
                    "payment_intent": input.payment_intent_id,
                    "amount": amount,
                    "reason": input.reason,
                    "metadata": {"run_id": input.run_id, "reference": input.reference},
                },
                headers={"Idempotency-Key": key},
            )
        raise_for_status(response, system="payments", conflict=ReasonCode.PAYMENT_CONFLICT)
        refund = _body(response)
        currency = str(refund["currency"]).upper()
        return RefundResult(
            refund_id=refund["id"],
            payment_intent_id=refund["payment_intent"],
            amount=from_minor_units(int(refund["amount"]), currency),
            currency=currency,
            idempotency_key=key,
            replayed=_replayed(response),
        )


def _minor_units(amount: Decimal, currency: str) -> int:
    """The provider takes integer minor units; a finer amount is refused, never rounded."""
    try:
        return to_minor_units(amount, currency)
    except ValueError as error:
        raise permanent(ReasonCode.BAD_REQUEST, f"amount: {error}") from None


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise permanent(
            ReasonCode.BAD_REQUEST, f"payments: not a JSON object: {response.text[:200]}"
        )
    return body


def _replayed(response: httpx.Response) -> bool:
    return bool(response.headers.get("Idempotent-Replayed") == "true")


def _charge_result(intent: dict[str, Any], *, key: str, replayed: bool) -> ChargeResult:
    status = intent.get("status")
    if status not in ("succeeded", "requires_payment_method", "processing"):
        # requires_confirmation or canceled after a confirm: the provider broke its contract.
        raise permanent(ReasonCode.BAD_REQUEST, f"payments: unexpected intent status {status!r}")
    error = intent.get("last_payment_error") or {}
    try:
        currency = str(intent["currency"]).upper()
        return ChargeResult(
            payment_intent_id=intent["id"],
            status=status,
            amount=from_minor_units(int(intent["amount"]), currency),
            amount_received=from_minor_units(int(intent["amount_received"]), currency),
            currency=currency,
            decline_code=error.get("decline_code") if status == "requires_payment_method" else None,
            decline_message=error.get("message") if status == "requires_payment_method" else None,
            idempotency_key=key,
            replayed=replayed,
        )
    except (KeyError, ValueError, ValidationError) as problem:
        raise permanent(ReasonCode.BAD_REQUEST, f"payments: unreadable intent: {problem}") from None
