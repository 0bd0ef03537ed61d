"""Contract events for tests: a 2026 month of a seeded contract (they start 2026-01-01)."""

import uuid
from datetime import UTC, date, datetime

from schemas.events import BillingCycleClosed, ContractAmended


def cycle_closed(
    contract_id: str, month: int, *, event_id: str | None = None
) -> BillingCycleClosed:
    """The close of `month` in 2026, with a fresh event id unless one is given."""
    return BillingCycleClosed(
        type="billing_cycle.closed",
        event_id=event_id or f"evt-{uuid.uuid4()}",
        schema_version=1,
        occurred_at=datetime(2026, 12, 1, tzinfo=UTC),
        contract_id=contract_id,
        period_start=date(2026, month, 1),
        period_end=date(2026 + month // 12, month % 12 + 1, 1),
    )


def amended(contract_id: str, change: date, end: date) -> ContractAmended:
    """A plan change effective on `change`, billed until `end`, with a fresh event id."""
    return ContractAmended(
        type="contract.amended",
        event_id=f"evt-{uuid.uuid4()}",
        schema_version=1,
        occurred_at=datetime(change.year, change.month, change.day, tzinfo=UTC),
        contract_id=contract_id,
        period_start=change,
        period_end=end,
    )
