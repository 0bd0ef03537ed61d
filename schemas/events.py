"""Versioned contract events: what starts a billing run.

Each event names a business key (contract, reason, period or milestone). The workflow id
and the ERP posting key both derive from it, so a repeated event or a retried post changes
nothing.
"""

from datetime import date
from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, Field, TypeAdapter, model_validator

from schemas.text import EventId, Id, Version


def key_prefix(contract_id: str, reason: str) -> str:
    """How every business key (and so every document id) of a contract and reason begins."""
    return f"{contract_id}:{reason}:"


class _Event(BaseModel):
    event_id: EventId
    schema_version: Annotated[Literal[1], Version] = Field(
        description="Bumped on an incompatible change"
    )
    occurred_at: AwareDatetime
    contract_id: Id


class _PeriodEvent(_Event):
    reason: ClassVar[str]
    period_start: date
    period_end: date = Field(description="Exclusive: the first day after the period")

    @model_validator(mode="after")
    def _period_is_forward(self) -> "_PeriodEvent":
        if self.period_end <= self.period_start:
            raise ValueError("period_end: must be after period_start")
        return self

    @property
    def business_key(self) -> str:
        return f"{key_prefix(self.contract_id, self.reason)}{self.period_start}:{self.period_end}"


class ContractActivated(_PeriodEvent):
    reason: ClassVar[str] = "activation"
    type: Literal["contract.activated"]


class ContractRenewed(_PeriodEvent):
    reason: ClassVar[str] = "renewal"
    type: Literal["contract.renewed"]


class BillingCycleClosed(_PeriodEvent):
    reason: ClassVar[str] = "cycle"
    type: Literal["billing_cycle.closed"]


class UsagePeriodClosed(_PeriodEvent):
    reason: ClassVar[str] = "usage"
    type: Literal["usage.period_closed"]


class ContractAmended(_PeriodEvent):
    """A plan change effective at `period_start`, billed for the rest of the period."""

    reason: ClassVar[str] = "amendment"
    type: Literal["contract.amended"]


class MilestoneCompleted(_Event):
    reason: ClassVar[str] = "milestone"
    type: Literal["milestone.completed"]
    milestone_id: Id
    completed_on: date

    @property
    def business_key(self) -> str:
        return f"{key_prefix(self.contract_id, self.reason)}{self.milestone_id}"

    @property
    def period_start(self) -> date:
        return self.completed_on

    @property
    def period_end(self) -> date:
        return date.fromordinal(self.completed_on.toordinal() + 1)


ContractEvent = Annotated[
    ContractActivated
    | ContractRenewed
    | BillingCycleClosed
    | UsagePeriodClosed
    | ContractAmended
    | MilestoneCompleted,
    Field(discriminator="type"),
]
EVENT_ADAPTER: TypeAdapter[ContractEvent] = TypeAdapter(ContractEvent)


def workflow_id_for(event: ContractEvent) -> str:
    """The run's workflow id: one run per business key, whatever delivers the event."""
    return f"q2c:{event.business_key}"
