"""Contract events built in code, for what fires them from a script: the demo, the benchmarks,
the chaos run, the recorded histories and the tests. One place knows each type's fields."""

from datetime import UTC, date, datetime, time
from typing import Any

from schemas.events import BillingCycleClosed, ContractActivated, ContractAmended


def month(year: int, number: int) -> tuple[date, date]:
    """Calendar month `number` of `year` (13 is January of the next year), as its first day and
    the first day of the month after: the half-open period a billing cycle covers."""
    start = date(year + (number - 1) // 12, (number - 1) % 12 + 1, 1)
    end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start, end


def _period_fields(
    contract_id: str, start: date, end: date, event_id: str, occurred_at: datetime
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "schema_version": 1,
        "occurred_at": occurred_at,
        "contract_id": contract_id,
        "period_start": start,
        "period_end": end,
    }


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def cycle_closed(
    contract_id: str,
    period: tuple[date, date],
    *,
    event_id: str,
    occurred_at: datetime | None = None,
) -> BillingCycleClosed:
    """The close of `period`; it occurs when the period ends unless `occurred_at` says."""
    start, end = period
    return BillingCycleClosed(
        type="billing_cycle.closed",
        **_period_fields(contract_id, start, end, event_id, occurred_at or _midnight(end)),
    )


def amended(
    contract_id: str,
    change: date,
    period_end: date,
    *,
    event_id: str,
    occurred_at: datetime | None = None,
) -> ContractAmended:
    """A change of terms effective on `change`, billed until `period_end`; it occurs on the
    day of the change unless `occurred_at` says."""
    return ContractAmended(
        type="contract.amended",
        **_period_fields(
            contract_id, change, period_end, event_id, occurred_at or _midnight(change)
        ),
    )


def activated(
    contract_id: str,
    start: date,
    first_period_end: date,
    *,
    event_id: str,
    occurred_at: datetime | None = None,
) -> ContractActivated:
    """The contract's activation on `start`, its first period ending on `first_period_end`;
    it occurs on the start day unless `occurred_at` says."""
    return ContractActivated(
        type="contract.activated",
        **_period_fields(
            contract_id, start, first_period_end, event_id, occurred_at or _midnight(start)
        ),
    )
