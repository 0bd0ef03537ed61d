"""Billing calendars, and what their scheduled fires hand between steps.

A billing calendar is what the contracts billed on the same days share: the interval, the
alignment, the bill-cycle day and the seller's time zone. One Temporal Schedule fires per
calendar; each fire's fan-out closes the periods of that calendar's contracts that end on
the fire's day (in that time zone).
"""

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.contract import Alignment, BillingInterval

SCHEDULED_MEMO = "started_by"
"""Memo key on every run the calendar starts (value `calendar`), so an event sent by hand for
the same period can say who billed it; runs started before it carry only an event id that
begins with `calendar:`."""


class CalendarKey(BaseModel):
    model_config = ConfigDict(frozen=True)

    interval: BillingInterval
    alignment: Alignment
    bill_cycle_day: int = Field(ge=1, le=31)
    time_zone: str = Field(min_length=1, description="IANA name, e.g. Europe/Berlin")

    @property
    def schedule_id(self) -> str:
        zone = self.time_zone.replace("/", "_")
        return f"q2c-calendar-{self.interval}-{self.alignment}-day{self.bill_cycle_day}-{zone}"

    def describe(self) -> str:
        return f"{self.interval}, {self.alignment}, day {self.bill_cycle_day}, {self.time_zone}"


class DuePeriod(BaseModel):
    """A contract's period that closes on the fire's day."""

    contract_id: str
    period_start: date
    period_end: date = Field(description="Exclusive: the fire's day")
    reason: Literal["cycle", "renewal"] = Field(
        default="cycle", description="renewal: a term ends that day and the contract renews"
    )
    has_terms: bool = Field(
        default=False, description="The contract has terms: its period may have a renewal run"
    )


class Skipped(BaseModel):
    """A contract whose calendar cannot be computed, and why (the fan-out goes on)."""

    contract_id: str
    field: str
    reason: str


class ListDueInput(BaseModel):
    calendar: CalendarKey
    fired_at: datetime = Field(description="The schedule's nominal fire time")
    after: str = Field(default="", description="The last contract id of the previous page")
    page_size: int = Field(default=200, ge=1, le=1000)


class DuePage(BaseModel):
    day: date = Field(description="The fire's day in the calendar's time zone")
    due: list[DuePeriod] = Field(default_factory=list)
    skipped: list[Skipped] = Field(default_factory=list)
    next_after: str | None = Field(default=None, description="None: this was the last page")


class StartRunsInput(BaseModel):
    due: list[DuePeriod]
    fired_at: datetime
    task_queue: str
    starts_per_second: float = Field(gt=0)
    collect: bool = Field(default=True, description="The runs go on into collection")


class StartRunsResult(BaseModel):
    started: int = 0
    duplicates: int = Field(default=0, description="Runs that already existed (by hand, a retry)")


class FanOutInput(BaseModel):
    calendar: CalendarKey
    task_queue: str = Field(description="Where the billing runs are started")
    starts_per_second: float = Field(default=20.0, gt=0)
    page_size: int = Field(default=200, ge=1, le=1000)
    collect: bool = Field(
        default=True, description="The runs go on into collection (False: end at delivery)"
    )
    fired_at: datetime | None = Field(
        default=None, description="None: the schedule's nominal time (or now, started by hand)"
    )
    after: str = ""
    pages: int = 0
    started: int = 0
    duplicates: int = 0
    skipped: list[Skipped] = Field(default_factory=list)


class FanOutResult(BaseModel):
    day: date
    pages: int
    started: int
    duplicates: int
    skipped: list[Skipped] = Field(default_factory=list)
