"""PaymentIntents, charges and refunds, with Stripe's idempotency: a POST with an
Idempotency-Key is answered once and replayed after; the same key with other parameters is
refused. A decline is an answer (402 with the intent), stored and replayed like a success.
"""

import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import iso4217
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from systems.crud.upsert import upsert
from systems.errors import Conflict, InvalidInput, NotFound
from systems.models.payments import (
    IdempotentRequest,
    LastPaymentError,
    PaymentCharge,
    PaymentIntent,
    PaymentIntentConfirm,
    PaymentIntentCreate,
    PaymentIntentPublic,
    PaymentMethod,
    PaymentMethodUpsert,
    PaymentTotals,
    Refund,
    RefundCreate,
    RefundPublic,
)

DECLINE_MESSAGES = {
    "insufficient_funds": "Your card has insufficient funds.",
    "card_declined": "Your card was declined.",
    "generic_decline": "Your card was declined.",
    "expired_card": "Your card has expired.",
    "do_not_honor": "Your card was declined.",
    "lost_card": "Your card was declined.",
}

Answer = tuple[int, dict[str, Any]]
"""An HTTP status and its JSON body."""


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def _utc(moment: datetime) -> datetime:
    """SQLite gives datetimes back without their zone; they were stored in UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _unix(moment: datetime) -> int:
    return int(_utc(moment).timestamp())


# --- payment methods ---------------------------------------------------------------------


def upsert_payment_method(
    *, session: Session, method_id: str, data: PaymentMethodUpsert
) -> tuple[PaymentMethod, bool]:
    if data.id is not None and data.id != method_id:
        problem = f"{data.id!r} differs from {method_id!r} in the path"
        raise InvalidInput([(("body", "id"), problem)])
    return upsert(
        session=session,
        model=PaymentMethod,
        key={"id": method_id},
        fields=data.model_dump(exclude={"id"}),
    )


def list_payment_methods(*, session: Session, customer: str) -> list[PaymentMethod]:
    query = select(PaymentMethod).where(col(PaymentMethod.customer) == customer)
    return list(session.exec(query.order_by(col(PaymentMethod.id))))


def _method_for(*, session: Session, customer: str, method_id: str | None) -> PaymentMethod:
    if method_id is None:
        methods = list_payment_methods(session=session, customer=customer)
        defaults = [method for method in methods if method.is_default]
        if not defaults:
            raise InvalidInput(
                [(("body", "payment_method"), f"customer {customer} has no default payment method")]
            )
        return defaults[0]
    method = session.get(PaymentMethod, method_id)
    if method is None:
        raise InvalidInput([(("body", "payment_method"), f"no such payment method: {method_id}")])
    if method.customer != customer:
        raise InvalidInput(
            [(("body", "payment_method"), f"{method_id} belongs to another customer")]
        )
    return method


# --- idempotency -------------------------------------------------------------------------


def request_hash(*, path: str, body: dict[str, Any]) -> str:
    text = json.dumps({"path": path, "body": body}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def idempotent(
    *,
    session: Session,
    key: str | None,
    path: str,
    body: dict[str, Any],
    now: datetime,
    handle: Callable[[], Answer],
) -> tuple[Answer, bool]:
    """Run `handle` once per key and commit its answer with it; True when replayed.

    `handle` changes the session without committing. An error it raises (404, 422) stores
    nothing, as Stripe saves no result for a request that failed validation. Two concurrent
    requests with one key are settled by the key's primary key: the loser replays.
    """
    if key is None:
        answer = handle()
        session.commit()
        return answer, False
    digest = request_hash(path=path, body=body)
    stored = session.get(IdempotentRequest, key)
    if stored is not None:
        return _replay(stored, digest), True
    try:
        answer = handle()
        session.add(
            IdempotentRequest(
                key=key,
                path=path,
                request_hash=digest,
                status_code=answer[0],
                response=answer[1],
                created_at=now.astimezone(UTC),
            )
        )
        session.commit()
    except IntegrityError:
        session.rollback()
        stored = session.get(IdempotentRequest, key)
        if stored is None:
            raise
        return _replay(stored, digest), True
    except Exception:
        session.rollback()
        raise
    return answer, False


def _replay(stored: IdempotentRequest, digest: str) -> Answer:
    if stored.request_hash != digest:
        raise Conflict(
            f"idempotency_error: keys for idempotent requests can only be used with the same "
            f"parameters they were first used with (key {stored.key} was used for "
            f"POST {stored.path})"
        )
    return stored.status_code, stored.response


# --- intents -----------------------------------------------------------------------------


def _currency(code: str) -> str:
    try:
        iso4217.Currency(code.upper())
    except ValueError:
        raise InvalidInput(
            [(("body", "currency"), f"{code!r} is not an ISO 4217 currency code")]
        ) from None
    return code.lower()


def create_intent(*, session: Session, body: PaymentIntentCreate, now: datetime) -> Answer:
    method = (
        _method_for(session=session, customer=body.customer, method_id=body.payment_method)
        if body.payment_method is not None or body.confirm
        else None
    )
    intent = PaymentIntent(
        id=_new_id("pi"),
        customer=body.customer,
        amount=body.amount,
        currency=_currency(body.currency),
        payment_method=method.id if method else None,
        status="requires_confirmation" if method else "requires_payment_method",
        description=body.description,
        intent_metadata=body.metadata,
        created_at=now.astimezone(UTC),
    )
    session.add(intent)
    if body.confirm and method is not None:
        return _attempt(session=session, intent=intent, method=method, now=now)
    session.flush()
    return 200, intent_public(intent).model_dump(mode="json")


def confirm_intent(
    *, session: Session, intent_id: str, body: PaymentIntentConfirm, now: datetime
) -> Answer:
    intent = _intent(session=session, intent_id=intent_id)
    if intent.status not in ("requires_payment_method", "requires_confirmation"):
        raise Conflict(
            f"payment_intent_unexpected_state: {intent_id} is {intent.status}; only an intent "
            "that requires a payment method or confirmation can be confirmed"
        )
    method = _method_for(
        session=session,
        customer=intent.customer,
        method_id=body.payment_method or intent.payment_method,
    )
    return _attempt(session=session, intent=intent, method=method, now=now)


def _attempt(
    *, session: Session, intent: PaymentIntent, method: PaymentMethod, now: datetime
) -> Answer:
    """Charge `method` once: declined while it has declines left, else paid or processing."""
    session.add(intent)
    session.flush()  # the charge's foreign key needs the intent row
    charge = PaymentCharge(
        id=_new_id("ch"),
        payment_intent=intent.id,
        amount=intent.amount,
        currency=intent.currency,
        payment_method=method.id,
        status="succeeded",
        created_at=now.astimezone(UTC),
    )
    intent.payment_method = method.id
    intent.latest_charge = charge.id
    if method.decline_next > 0:
        method.decline_next -= 1
        session.add(method)
        charge.status = "failed"
        charge.decline_code = method.decline_code
        intent.status = "requires_payment_method"
        intent.last_payment_error = LastPaymentError(
            decline_code=method.decline_code,
            message=DECLINE_MESSAGES[method.decline_code],
            payment_method=method.id,
        ).model_dump()
    elif method.processing_seconds > 0:
        charge.status = "pending"
        intent.status = "processing"
        intent.last_payment_error = None
        intent.settles_at = now.astimezone(UTC) + timedelta(seconds=method.processing_seconds)
    else:
        intent.status = "succeeded"
        intent.last_payment_error = None
        intent.amount_received = intent.amount
    session.add_all([intent, charge])
    session.flush()
    public = intent_public(intent).model_dump(mode="json")
    if charge.status != "failed":
        return 200, public
    error = intent.last_payment_error or {}
    return 402, {
        "detail": error.get("message", "declined"),
        "error": error | {"payment_intent": public},
    }


def _intent(*, session: Session, intent_id: str) -> PaymentIntent:
    intent = session.get(PaymentIntent, intent_id)
    if intent is None:
        raise NotFound(f"payment intent {intent_id} not found")
    return intent


def settle_due(*, session: Session, intent: PaymentIntent, now: datetime) -> PaymentIntent:
    """A processing intent whose settlement time has come is succeeded from now on."""
    settles_at = intent.settles_at
    if intent.status != "processing" or settles_at is None:
        return intent
    if _utc(settles_at) > now:
        return intent
    intent.status = "succeeded"
    intent.amount_received = intent.amount
    intent.settles_at = None
    charge = session.get(PaymentCharge, intent.latest_charge) if intent.latest_charge else None
    if charge is not None:
        charge.status = "succeeded"
        session.add(charge)
    session.add(intent)
    session.commit()
    session.refresh(intent)
    return intent


def get_intent(*, session: Session, intent_id: str, now: datetime) -> PaymentIntent:
    intent = _intent(session=session, intent_id=intent_id)
    return settle_due(session=session, intent=intent, now=now)


def list_intents(
    *, session: Session, customer: str | None, limit: int, now: datetime
) -> list[PaymentIntent]:
    query = select(PaymentIntent).order_by(col(PaymentIntent.created_at), col(PaymentIntent.id))
    if customer is not None:
        query = query.where(col(PaymentIntent.customer) == customer)
    return [
        settle_due(session=session, intent=intent, now=now)
        for intent in session.exec(query.limit(limit))
    ]


def intent_public(intent: PaymentIntent) -> PaymentIntentPublic:
    error = intent.last_payment_error
    return PaymentIntentPublic(
        id=intent.id,
        amount=intent.amount,
        amount_received=intent.amount_received,
        amount_refunded=intent.amount_refunded,
        currency=intent.currency,
        customer=intent.customer,
        payment_method=intent.payment_method,
        status=intent.status,
        last_payment_error=LastPaymentError.model_validate(error) if error else None,
        latest_charge=intent.latest_charge,
        description=intent.description,
        metadata=intent.intent_metadata,
        created=_unix(intent.created_at),
    )


# --- refunds -----------------------------------------------------------------------------


def create_refund(*, session: Session, body: RefundCreate, now: datetime) -> Answer:
    intent = get_intent(session=session, intent_id=body.payment_intent, now=now)
    if intent.status != "succeeded" or intent.latest_charge is None:
        raise Conflict(
            f"payment_intent_unexpected_state: {intent.id} is {intent.status}; "
            "only a succeeded payment can be refunded"
        )
    left = intent.amount_received - intent.amount_refunded
    amount = left if body.amount is None else body.amount
    if amount > left or amount == 0:
        raise InvalidInput(
            [
                (
                    ("body", "amount"),
                    f"{amount} is more than the {left} left to refund on {intent.id}",
                )
            ]
        )
    refund = Refund(
        id=_new_id("re"),
        payment_intent=intent.id,
        charge=intent.latest_charge,
        amount=amount,
        currency=intent.currency,
        reason=body.reason,
        refund_metadata=body.metadata,
        created_at=now.astimezone(UTC),
    )
    intent.amount_refunded += amount
    session.add(intent)
    session.add(refund)
    session.flush()
    return 200, refund_public(refund).model_dump(mode="json")


def get_refund(*, session: Session, refund_id: str) -> Refund:
    refund = session.get(Refund, refund_id)
    if refund is None:
        raise NotFound(f"refund {refund_id} not found")
    return refund


def refund_public(refund: Refund) -> RefundPublic:
    return RefundPublic(
        id=refund.id,
        amount=refund.amount,
        currency=refund.currency,
        payment_intent=refund.payment_intent,
        charge=refund.charge,
        reason=refund.reason,
        metadata=refund.refund_metadata,
        created=_unix(refund.created_at),
    )


def totals(*, session: Session) -> PaymentTotals:
    """Per currency: amounts received and refunded, and the attempts made."""
    by_currency: dict[str, dict[str, int]] = {}
    intents = list(session.exec(select(PaymentIntent)))
    for intent in intents:
        figures = by_currency.setdefault(intent.currency, {"received": 0, "refunded": 0})
        figures["received"] += intent.amount_received
        figures["refunded"] += intent.amount_refunded
    charges = list(session.exec(select(PaymentCharge.status)))
    return PaymentTotals(
        intents=len(intents),
        charges_succeeded=sum(1 for status in charges if status == "succeeded"),
        charges_declined=sum(1 for status in charges if status == "failed"),
        by_currency=dict(sorted(by_currency.items())),
    )
