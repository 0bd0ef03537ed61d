"""Usage platform routes: metrics, event ingestion, period summaries."""

from datetime import date

from fastapi import APIRouter, Response, status

from systems.crud import usage
from systems.deps import SessionDep
from systems.limits import StrictJsonRoute
from systems.models.usage import (
    IngestResult,
    MetricPublic,
    MetricUpsert,
    UsageBatch,
    UsageSummary,
)

router = APIRouter(prefix="/usage", tags=["usage"], route_class=StrictJsonRoute)


@router.get("/metrics")
def list_metrics(session: SessionDep) -> list[MetricPublic]:
    return [
        MetricPublic.model_validate(m.model_dump()) for m in usage.list_metrics(session=session)
    ]


@router.put("/metrics/{code}", responses={201: {"description": "Created"}})
def put_metric(
    session: SessionDep, code: str, body: MetricUpsert, response: Response
) -> MetricPublic:
    metric, created = usage.upsert_metric(session=session, code=code, data=body)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return MetricPublic.model_validate(metric.model_dump())


@router.post("/events")
def post_events(session: SessionDep, body: UsageBatch) -> IngestResult:
    return usage.ingest_events(session=session, events=body.events)


@router.get("/summary")
def get_summary(
    session: SessionDep, contract_id: str, period_start: date, period_end: date
) -> UsageSummary:
    return usage.summarize(
        session=session, contract_id=contract_id, period_start=period_start, period_end=period_end
    )
