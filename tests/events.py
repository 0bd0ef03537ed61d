"""Contract events for tests: a 2026 month of a seeded contract (they start 2026-01-01)."""

import uuid
from datetime import date

from schemas.events import BillingCycleClosed, ContractActivated, ContractAmended
from starters import events


def cycle_closed(
    contract_id: str, month: int, *, event_id: str | None = None, year: int = 2026
) -> BillingCycleClosed:
    """The close of `month` of `year`, with a fresh event id unless one is given. Tests that
    share the systems service each take a year of their own, so no two post one key."""
    return events.cycle_closed(
        contract_id, events.month(year, month), event_id=event_id or f"evt-{uuid.uuid4()}"
    )


def amended(contract_id: str, change: date, end: date) -> ContractAmended:
    """A plan change effective on `change`, billed until `end`, with a fresh event id."""
    return events.amended(contract_id, change, end, event_id=f"evt-{uuid.uuid4()}")


def activated(contract_id: str, start: date, first_period_end: date) -> ContractActivated:
    """The activation on `start` (first period until `first_period_end`), fresh event id."""
    return events.activated(contract_id, start, first_period_end, event_id=f"evt-{uuid.uuid4()}")


def closed(contract_id: str, start: date, end: date) -> BillingCycleClosed:
    """The close of the period `start`..`end` (exclusive), with a fresh event id."""
    return events.cycle_closed(contract_id, (start, end), event_id=f"evt-{uuid.uuid4()}")
