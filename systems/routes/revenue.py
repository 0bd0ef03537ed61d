"""ERP revenue routes: schedule lines, monthly recognition entries, closed months, the
deferred balance against the schedules, and the movements of the deferred account."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from systems.crud import revenue
from systems.deps import SessionDep
from systems.errors import NotFound
from systems.models.erp import MONTH
from systems.models.revenue import (
    ClosedPeriodPublic,
    DeferredBalance,
    RecognitionPublic,
    RecognitionRequest,
    RevenueMovement,
    ScheduleLinePublic,
)

router = APIRouter(prefix="/erp", tags=["erp revenue"])

Month = Annotated[str, Path(pattern=MONTH, description="YYYY-MM")]
MonthQuery = Annotated[str | None, Query(pattern=MONTH, description="YYYY-MM")]
Currency = Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")]


@router.post("/periods/{month}/close")
def close_period(session: SessionDep, month: Month) -> ClosedPeriodPublic:
    return revenue.close_period(session=session, month=month, now=datetime.now(UTC))


@router.get("/periods/closed")
def closed_periods(session: SessionDep) -> list[ClosedPeriodPublic]:
    return revenue.closed_periods(session=session)


@router.get("/revenue/schedule-lines")
def schedule_lines(
    session: SessionDep,
    through: MonthQuery = None,
    currency: Currency = None,
    due: Annotated[bool, Query(description="Only deferred lines not yet released")] = False,
    posting_key: str | None = None,
    entity: Annotated[str | None, Query(max_length=32, description="The selling entity")] = None,
) -> list[ScheduleLinePublic]:
    return revenue.schedule_lines(
        session=session,
        through=through,
        currency=currency,
        due=due,
        posting_key=posting_key,
        entity=entity,
    )


@router.post(
    "/revenue/recognitions",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "Already booked for the same month and currency: the stored entry"},
        409: {"description": "`period_closed` (with `next_open`), or another month's key"},
    },
)
def post_recognition(
    session: SessionDep, body: RecognitionRequest, response: Response
) -> RecognitionPublic:
    entry, created = revenue.post_recognition(session=session, request=body, now=datetime.now(UTC))
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return revenue.recognition_public(entry)


@router.get("/revenue/recognitions")
def list_recognitions(session: SessionDep, month: MonthQuery = None) -> list[RecognitionPublic]:
    return [
        revenue.recognition_public(entry)
        for entry in revenue.list_recognitions(session=session, month=month)
    ]


@router.get("/revenue/recognitions/{posting_key:path}")
def get_recognition(session: SessionDep, posting_key: str) -> RecognitionPublic:
    entry = revenue.get_recognition(session=session, posting_key=posting_key)
    if entry is None:
        raise NotFound(f"recognition {posting_key} not found")
    return revenue.recognition_public(entry)


@router.get("/revenue/deferred-balance")
def deferred_balance(
    session: SessionDep,
    currency: Annotated[str, Query(pattern=r"^[A-Z]{3}$")],
    account: Annotated[str, Query(min_length=1, description="The deferred-revenue account")],
) -> DeferredBalance:
    return revenue.deferred_balance(session=session, currency=currency, account=account)


@router.get("/revenue/movements")
def movements(session: SessionDep) -> list[RevenueMovement]:
    return revenue.movements(session=session)
