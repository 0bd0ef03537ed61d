"""Payment provider routes, shaped like Stripe's PaymentIntents and Refunds."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response, status
from fastapi.responses import JSONResponse

from systems.crud import payments
from systems.deps import SessionDep
from systems.limits import StrictJsonRoute
from systems.models.payments import (
    PaymentIntentConfirm,
    PaymentIntentCreate,
    PaymentIntentPublic,
    PaymentMethodPublic,
    PaymentMethodUpsert,
    PaymentTotals,
    RefundCreate,
    RefundPublic,
)

router = APIRouter(prefix="/payments", tags=["payments"], route_class=StrictJsonRoute)

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="Answered once; a retry with the same key and parameters gets the same "
        "answer, other parameters a 409",
    ),
]
_ANSWERS: dict[int | str, dict[str, Any]] = {
    402: {"description": "Declined: the error, with the intent in `error.payment_intent`"},
    409: {"description": "Idempotency-Key reused with other parameters, or the intent's state"},
}


def _answer(answer: payments.Answer, *, replayed: bool) -> JSONResponse:
    code, body = answer
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return JSONResponse(status_code=code, content=body, headers=headers)


@router.put("/payment_methods/{method_id}", responses={201: {"description": "Created"}})
def put_payment_method(
    session: SessionDep, method_id: str, body: PaymentMethodUpsert, response: Response
) -> PaymentMethodPublic:
    method, created = payments.upsert_payment_method(
        session=session, method_id=method_id, data=body
    )
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return PaymentMethodPublic.model_validate(method.model_dump())


@router.get("/customers/{customer}/payment_methods")
def list_payment_methods(session: SessionDep, customer: str) -> list[PaymentMethodPublic]:
    return [
        PaymentMethodPublic.model_validate(method.model_dump())
        for method in payments.list_payment_methods(session=session, customer=customer)
    ]


@router.post("/payment_intents", response_model=PaymentIntentPublic, responses=_ANSWERS)
def create_payment_intent(
    session: SessionDep, body: PaymentIntentCreate, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    now = datetime.now(UTC)
    answer, replayed = payments.idempotent(
        session=session,
        key=idempotency_key,
        path="/payments/payment_intents",
        body=body.model_dump(mode="json"),
        now=now,
        handle=lambda: payments.create_intent(session=session, body=body, now=now),
    )
    return _answer(answer, replayed=replayed)


@router.post(
    "/payment_intents/{intent_id}/confirm", response_model=PaymentIntentPublic, responses=_ANSWERS
)
def confirm_payment_intent(
    session: SessionDep,
    intent_id: str,
    body: PaymentIntentConfirm | None = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    now, body = datetime.now(UTC), body or PaymentIntentConfirm()
    answer, replayed = payments.idempotent(
        session=session,
        key=idempotency_key,
        path=f"/payments/payment_intents/{intent_id}/confirm",
        body=body.model_dump(mode="json"),
        now=now,
        handle=lambda: payments.confirm_intent(
            session=session, intent_id=intent_id, body=body, now=now
        ),
    )
    return _answer(answer, replayed=replayed)


@router.get("/payment_intents/{intent_id}")
def get_payment_intent(session: SessionDep, intent_id: str) -> PaymentIntentPublic:
    intent = payments.get_intent(session=session, intent_id=intent_id, now=datetime.now(UTC))
    return payments.intent_public(intent)


@router.get("/payment_intents")
def list_payment_intents(
    session: SessionDep,
    customer: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[PaymentIntentPublic]:
    intents = payments.list_intents(
        session=session, customer=customer, limit=limit, now=datetime.now(UTC)
    )
    return [payments.intent_public(intent) for intent in intents]


@router.post("/refunds", response_model=RefundPublic, responses=_ANSWERS)
def create_refund(
    session: SessionDep, body: RefundCreate, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    now = datetime.now(UTC)
    answer, replayed = payments.idempotent(
        session=session,
        key=idempotency_key,
        path="/payments/refunds",
        body=body.model_dump(mode="json"),
        now=now,
        handle=lambda: payments.create_refund(session=session, body=body, now=now),
    )
    return _answer(answer, replayed=replayed)


@router.get("/refunds/{refund_id}")
def get_refund(session: SessionDep, refund_id: str) -> RefundPublic:
    return payments.refund_public(payments.get_refund(session=session, refund_id=refund_id))


@router.get("/totals")
def payment_totals(session: SessionDep) -> PaymentTotals:
    return payments.totals(session=session)
