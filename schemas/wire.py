"""Events as senders write them, per schema version, and the upcast to the internal models.

Version 2 writes money as `{"amount": "12.34", "currency": "EUR"}` objects; version 1 as a
flat `amount` beside a `currency`. Contract events carry no money, so their two versions have
the same fields, and both become the same internal event: its `schema_version` stays 1, the
shape of the runs already in flight. Payment events' internal shape is version 2.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Field, TypeAdapter, ValidationError, model_validator

from schemas import payment_events as p
from schemas.events import (
    EVENT_ADAPTER,
    BillingCycleClosed,
    ContractActivated,
    ContractAmended,
    ContractEvent,
    ContractRenewed,
    MilestoneCompleted,
    UsagePeriodClosed,
)
from schemas.money import Amount, CurrencyCode
from schemas.payment_events import PAYMENT_EVENT_ADAPTER, PaymentEvent
from schemas.text import Version

VERSIONS = (1, 2)
CONTRACT_TYPES = (
    "contract.activated",
    "contract.renewed",
    "contract.amended",
    "billing_cycle.closed",
    "usage.period_closed",
    "milestone.completed",
)
PAYMENT_TYPES = (
    "payment.succeeded",
    "payment.failed",
    "payment.refunded",
    "dispute.opened",
    "dispute.closed",
)
EVENT_TYPES = CONTRACT_TYPES + PAYMENT_TYPES

InternalEvent = ContractEvent | PaymentEvent


class _FlatMoney(BaseModel):
    schema_version: Annotated[Literal[1], Version] = Field(
        description="Version 1: a flat amount and currency"
    )
    amount: Amount = Field(gt=0, description='A decimal string, e.g. "12.34"')
    currency: CurrencyCode

    @model_validator(mode="after")
    def _fits_the_minor_unit(self) -> "_FlatMoney":
        p.check_minor_unit(self.amount, self.currency)
        return self


class PaymentSucceededV1(p.SucceededFields, _FlatMoney):
    pass


class PaymentFailedV1(p.FailedFields, _FlatMoney):
    pass


class PaymentRefundedV1(p.RefundedFields, _FlatMoney):
    pass


class DisputeOpenedV1(p.DisputeOpenedFields, _FlatMoney):
    pass


class DisputeClosedV1(p.DisputeClosedFields, _FlatMoney):
    pass


class _Version2(BaseModel):
    schema_version: Annotated[Literal[2], Version]


class ContractActivatedV2(_Version2, ContractActivated):
    pass


class ContractRenewedV2(_Version2, ContractRenewed):
    pass


class ContractAmendedV2(_Version2, ContractAmended):
    pass


class BillingCycleClosedV2(_Version2, BillingCycleClosed):
    pass


class UsagePeriodClosedV2(_Version2, UsagePeriodClosed):
    pass


class MilestoneCompletedV2(_Version2, MilestoneCompleted):
    pass


WIRE_MODELS: dict[int, dict[str, type[BaseModel]]] = {
    1: {
        "contract.activated": ContractActivated,
        "contract.renewed": ContractRenewed,
        "contract.amended": ContractAmended,
        "billing_cycle.closed": BillingCycleClosed,
        "usage.period_closed": UsagePeriodClosed,
        "milestone.completed": MilestoneCompleted,
        "payment.succeeded": PaymentSucceededV1,
        "payment.failed": PaymentFailedV1,
        "payment.refunded": PaymentRefundedV1,
        "dispute.opened": DisputeOpenedV1,
        "dispute.closed": DisputeClosedV1,
    },
    2: {
        "contract.activated": ContractActivatedV2,
        "contract.renewed": ContractRenewedV2,
        "contract.amended": ContractAmendedV2,
        "billing_cycle.closed": BillingCycleClosedV2,
        "usage.period_closed": UsagePeriodClosedV2,
        "milestone.completed": MilestoneCompletedV2,
        "payment.succeeded": p.PaymentSucceeded,
        "payment.failed": p.PaymentFailed,
        "payment.refunded": p.PaymentRefunded,
        "dispute.opened": p.DisputeOpened,
        "dispute.closed": p.DisputeClosed,
    },
}
"""Every event type in every version: what `/v1/schemas` publishes."""


def _union(version: int) -> TypeAdapter[Any]:
    union = Union[tuple(WIRE_MODELS[version].values())]  # type: ignore[valid-type]  # noqa: UP007
    return TypeAdapter(Annotated[union, Field(discriminator="type")])  # type: ignore[arg-type]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an event: a JSON pointer into it, and why."""

    pointer: str
    detail: str


class WireError(ValueError):
    """The event does not validate; each problem points at its field."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{x.pointer or '/'}: {x.detail}" for x in problems))
        self.problems = problems


def json_schema(event_type: str, version: int) -> dict[str, Any]:
    return WIRE_MODELS[version][event_type].model_json_schema(mode="validation")


class _Adapters:
    """The per-version unions, built on first use: no work at import time."""

    _built: dict[int, TypeAdapter[Any]] = {}

    @classmethod
    def get(cls, version: int) -> TypeAdapter[Any]:
        if version not in cls._built:
            cls._built[version] = _union(version)
        return cls._built[version]


def parse_wire(raw: object) -> InternalEvent:
    """Validate one event in the version it names, and upcast it to the internal model."""
    if not isinstance(raw, Mapping):
        raise WireError([Problem("", "an event is a JSON object")])
    accepted = ", ".join(map(str, VERSIONS))
    version = raw.get("schema_version")
    if "schema_version" not in raw:
        raise WireError([Problem("/schema_version", f"required; accepted versions: {accepted}")])
    if type(version) is not int or version not in VERSIONS:
        raise WireError(
            [
                Problem(
                    "/schema_version",
                    f"version {_shown(version)} is not accepted; accepted versions: {accepted}",
                )
            ]
        )
    try:
        wire = _Adapters.get(int(version)).validate_python(dict(raw))
    except ValidationError as error:
        raise WireError(_problems(error)) from None
    return upcast(wire)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:40]}…"


def upcast(wire: BaseModel) -> InternalEvent:
    data = wire.model_dump(mode="json")
    if isinstance(wire, _FlatMoney):
        data["amount"] = {"amount": data.pop("amount"), "currency": data.pop("currency")}
        data["schema_version"] = 2
        return PAYMENT_EVENT_ADAPTER.validate_python(data)
    if data["type"] in PAYMENT_TYPES:
        return PAYMENT_EVENT_ADAPTER.validate_python(data)
    data["schema_version"] = 1
    return EVENT_ADAPTER.validate_python(data)


def _problems(error: ValidationError) -> list[Problem]:
    problems = []
    for item in error.errors():
        if item["type"] in ("union_tag_invalid", "union_tag_not_found"):
            problems.append(Problem("/type", f"must be one of: {', '.join(EVENT_TYPES)}"))
            continue
        loc = [str(part) for part in item["loc"]]
        if loc and loc[0] in EVENT_TYPES:  # the union's tag comes first
            loc = loc[1:]
        loc = [part for part in loc if not part.startswith("function-")]
        message = str(item["msg"]).removeprefix("Value error, ")
        if len(message) > 300:  # a message may quote the input: name it, don't repeat it
            message = f"{message[:300]}… ({len(message)} characters)"
        field, sep, rest = message.partition(": ")
        # A model validator names its field at the start of its message.
        if sep and field.isidentifier():
            loc = [*loc, field]
            message = rest
        problems.append(Problem("/" + "/".join(loc) if loc else "", message))
    return problems
