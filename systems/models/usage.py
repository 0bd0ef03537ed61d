"""Usage platform: billable metrics and the raw events measured against them.

An event's value for its metric (the property named by the metric's `field_name`) is
pulled out at ingestion: `value` keeps it as text for distinct counts, `quantity` as an
exact decimal so SUM and MAX run in SQL.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import AwareDatetime, model_validator
from sqlmodel import Field, SQLModel

from systems.types import ScaledDecimal

Aggregation = Literal["count", "sum", "max", "unique_count", "latest", "weighted_sum"]
QUANTITY_SCALE = 6
"""Decimal places an event value may carry."""
MAX_BATCH = 10_000


class MetricBase(SQLModel):
    name: str = Field(min_length=1)
    aggregation: Aggregation = Field(sa_type=sa.String)
    field_name: str | None = Field(
        default=None, description="Event property aggregated; not needed for count"
    )
    recurring: bool = Field(
        default=False,
        description="weighted_sum only: the level carries over from earlier periods",
    )


class Metric(MetricBase, table=True):
    code: str = Field(primary_key=True)


class MetricUpsert(MetricBase):
    code: str | None = Field(default=None, description="Must equal the code in the path")

    @model_validator(mode="after")
    def _field_name_when_needed(self) -> "MetricUpsert":
        if self.aggregation != "count" and not self.field_name:
            raise ValueError(f"field_name: is required for {self.aggregation} aggregation")
        return self


class MetricPublic(MetricBase):
    code: str


class UsageEvent(SQLModel, table=True):
    __tablename__ = "usage_event"
    __table_args__ = (sa.Index("ix_usage_event_lookup", "contract_id", "metric", "timestamp"),)

    id: int | None = Field(default=None, primary_key=True)
    transaction_id: str = Field(unique=True)
    contract_id: str
    metric: str
    timestamp: datetime = Field(description="UTC")
    properties: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    value: str | None = None
    quantity: Decimal | None = Field(
        default=None, sa_column=sa.Column(ScaledDecimal(QUANTITY_SCALE), nullable=True)
    )


class UsageEventIn(SQLModel):
    transaction_id: str = Field(min_length=1, max_length=255)
    contract_id: str = Field(min_length=1)
    metric: str = Field(min_length=1)
    timestamp: AwareDatetime
    properties: dict[str, Any] = Field(default_factory=dict)


class UsageBatch(SQLModel):
    events: list[UsageEventIn] = Field(min_length=1, max_length=MAX_BATCH)


class IngestResult(SQLModel):
    accepted: int
    duplicates: int


class UsageSummary(SQLModel):
    contract_id: str
    period_start: date
    period_end: date = Field(description="Exclusive")
    quantities: dict[str, str] = Field(description="Aggregated quantity per metric, decimal")
    events: dict[str, list[str]] = Field(description="Per-event values of `sum` metrics")
