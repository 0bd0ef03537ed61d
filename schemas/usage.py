"""Usage as the usage platform reports it: already aggregated per metric and period."""

from datetime import date

from pydantic import BaseModel, Field

from schemas.money import Amount


class UsageSummary(BaseModel):
    contract_id: str
    period_start: date
    period_end: date = Field(description="Exclusive")
    quantities: dict[str, Amount] = Field(
        default_factory=dict, description="Aggregated quantity per metric code"
    )
    events: dict[str, list[Amount]] = Field(
        default_factory=dict,
        description="Per-event values, for metrics rated per transaction (percentage models)",
    )
