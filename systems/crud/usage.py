"""Billable metrics, event ingestion (idempotent on transaction_id) and period summaries."""

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from systems.aggregation import weighted_sum
from systems.crud.crm import get_contract, usage_metrics
from systems.crud.upsert import upsert
from systems.errors import InvalidInput, NotFound
from systems.models.usage import (
    QUANTITY_SCALE,
    IngestResult,
    Metric,
    MetricUpsert,
    UsageEvent,
    UsageEventIn,
    UsageSummary,
)
from systems.types import parse_decimal, plain, to_units


def _insert_new_events(dialect: str) -> sa.Insert:
    """INSERT ... ON CONFLICT (transaction_id) DO NOTHING RETURNING transaction_id."""
    table = UsageEvent.__table__  # type: ignore[attr-defined]
    if dialect == "postgresql":
        pg_insert = postgresql.insert(table).on_conflict_do_nothing(
            index_elements=["transaction_id"]
        )
        return pg_insert.returning(table.c.transaction_id)
    if dialect == "sqlite":
        lite_insert = sqlite.insert(table).on_conflict_do_nothing(index_elements=["transaction_id"])
        return lite_insert.returning(table.c.transaction_id)
    raise ValueError(f"the usage platform runs on SQLite or PostgreSQL, not {dialect}")


def upsert_metric(*, session: Session, code: str, data: MetricUpsert) -> tuple[Metric, bool]:
    """Store the metric under `code`; True when it is new."""
    if data.code is not None and data.code != code:
        raise InvalidInput([(("body", "code"), f"{data.code!r} differs from {code!r} in the path")])
    fields = data.model_dump(exclude={"code"})
    return upsert(session=session, model=Metric, key={"code": code}, fields=fields)


def list_metrics(*, session: Session) -> list[Metric]:
    return list(session.exec(select(Metric).order_by(col(Metric.code))))


def _event_value(
    event: UsageEventIn, metric: Metric, index: int
) -> tuple[str | None, Decimal | None]:
    """The event's value for its metric, as text and as a decimal (when numeric)."""
    if metric.aggregation == "count":
        return None, None
    assert metric.field_name is not None
    loc: tuple[str | int, ...] = ("body", "events", index, "properties", metric.field_name)
    if metric.field_name not in event.properties:
        raise InvalidInput([(loc, f"is required by metric {metric.code} ({metric.aggregation})")])
    raw: Any = event.properties[metric.field_name]
    if metric.aggregation == "unique_count":
        if isinstance(raw, bool) or not isinstance(raw, str | int):
            raise InvalidInput([(loc, "must be a string or an integer to be counted distinctly")])
        return str(raw), None
    try:
        number = parse_decimal(raw)
        to_units(number, scale=QUANTITY_SCALE)
    except ValueError as error:
        raise InvalidInput([(loc, str(error))]) from None
    return str(raw), number


def ingest_events(*, session: Session, events: Sequence[UsageEventIn]) -> IngestResult:
    """Store new events; a transaction_id seen before (or twice in the batch) is skipped."""
    codes = {event.metric for event in events}
    metrics = {
        metric.code: metric
        for metric in session.exec(select(Metric).where(col(Metric.code).in_(codes)))
    }
    rows: dict[str, dict[str, Any]] = {}
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for index, event in enumerate(events):
        metric = metrics.get(event.metric)
        if metric is None:
            problems.append(
                (("body", "events", index, "metric"), f"unknown metric {event.metric!r}")
            )
            continue
        try:
            value, quantity = _event_value(event, metric, index)
        except InvalidInput as invalid:
            problems.extend(invalid.problems)
            continue
        rows.setdefault(
            event.transaction_id,
            {
                "transaction_id": event.transaction_id,
                "contract_id": event.contract_id,
                "metric": event.metric,
                "timestamp": event.timestamp.astimezone(UTC),
                "properties": event.properties,
                "value": value,
                "quantity": quantity,
            },
        )
    if problems:
        raise InvalidInput(problems)
    # The unique index decides what is new, so concurrent batches cannot double-count.
    statement = _insert_new_events(session.get_bind().dialect.name)
    accepted = len(session.execute(statement, list(rows.values())).all()) if rows else 0
    session.commit()
    return IngestResult(accepted=accepted, duplicates=len(events) - accepted)


def _period_bounds(period_start: date, period_end: date) -> tuple[datetime, datetime]:
    if period_end <= period_start:
        raise InvalidInput([(("query", "period_end"), "must be after period_start")])
    return (
        datetime.combine(period_start, time(tzinfo=UTC)),
        datetime.combine(period_end, time(tzinfo=UTC)),
    )


def summarize(
    *, session: Session, contract_id: str, period_start: date, period_end: date
) -> UsageSummary:
    """Aggregate every metric the contract is rated on, or has events for, over the period."""
    start, end = _period_bounds(period_start, period_end)
    contract = get_contract(session=session, contract_id=contract_id)
    if contract is None:
        raise NotFound(f"contract {contract_id} not found")
    in_period = (
        col(UsageEvent.contract_id) == contract_id,
        col(UsageEvent.timestamp) >= start,
        col(UsageEvent.timestamp) < end,
    )
    grouped = session.execute(
        sa.select(
            col(UsageEvent.metric),
            sa.func.count(),
            sa.func.sum(col(UsageEvent.quantity)),
            sa.func.max(col(UsageEvent.quantity)),
            sa.func.count(sa.distinct(col(UsageEvent.value))),
        )
        .where(*in_period)
        .group_by(col(UsageEvent.metric))
    ).all()
    stats = {row[0]: row[1:] for row in grouped}
    codes = list(dict.fromkeys([*usage_metrics(contract), *sorted(stats)]))
    metrics = {
        metric.code: metric
        for metric in session.exec(select(Metric).where(col(Metric.code).in_(codes)))
    }
    quantities: dict[str, str] = {}
    per_event: dict[str, list[str]] = {}
    for code in codes:
        metric = metrics.get(code)
        count, total, highest, distinct = stats.get(code, (0, None, None, 0))
        if metric is None or count == 0 and metric.aggregation != "weighted_sum":
            quantity = Decimal(0)
        elif metric.aggregation == "count":
            quantity = Decimal(count)
        elif metric.aggregation == "sum":
            quantity = total or Decimal(0)
        elif metric.aggregation == "max":
            quantity = highest or Decimal(0)
        elif metric.aggregation == "unique_count":
            quantity = Decimal(distinct)
        elif metric.aggregation == "latest":
            quantity = _latest(session=session, code=code, in_period=in_period)
        else:
            quantity = _weighted(
                session=session, metric=metric, contract_id=contract_id, start=start, end=end
            )
        quantities[code] = plain(quantity)
        if metric is not None and metric.aggregation == "sum":
            # Each value as the sender wrote it ("100.00"), for per-transaction pricing.
            per_event[code] = [
                value
                for value in session.scalars(
                    sa.select(col(UsageEvent.value))
                    .where(*in_period, col(UsageEvent.metric) == code)
                    .order_by(col(UsageEvent.timestamp), col(UsageEvent.id))
                )
                if value is not None
            ]
    return UsageSummary(
        contract_id=contract_id,
        period_start=period_start,
        period_end=period_end,
        quantities=quantities,
        events=per_event,
    )


def _latest(*, session: Session, code: str, in_period: tuple[Any, ...]) -> Decimal:
    value = session.scalars(
        sa.select(col(UsageEvent.quantity))
        .where(*in_period, col(UsageEvent.metric) == code)
        .order_by(col(UsageEvent.timestamp).desc(), col(UsageEvent.id).desc())
        .limit(1)
    ).first()
    return value if value is not None else Decimal(0)


def _weighted(
    *, session: Session, metric: Metric, contract_id: str, start: datetime, end: datetime
) -> Decimal:
    of_metric = (
        col(UsageEvent.contract_id) == contract_id,
        col(UsageEvent.metric) == metric.code,
    )
    initial = Decimal(0)
    if metric.recurring:
        carried = session.scalar(
            sa.select(sa.func.sum(col(UsageEvent.quantity))).where(
                *of_metric, col(UsageEvent.timestamp) < start
            )
        )
        initial = carried if carried is not None else Decimal(0)
    changes = session.execute(
        sa.select(col(UsageEvent.timestamp), col(UsageEvent.quantity))
        .where(*of_metric, col(UsageEvent.timestamp) >= start, col(UsageEvent.timestamp) < end)
        .order_by(col(UsageEvent.timestamp), col(UsageEvent.id))
    ).all()
    return weighted_sum(
        initial=initial,
        changes=[(moment, change) for moment, change in changes],
        start=start,
        end=end,
    )
