"""Payment and dispute events to the run that owns the invoice, through one update each.

The run's collection phase handles `record_payment` and `dispute`; an event for a run that
does not collect (it ended, or it was started without collection) is refused by the run's
update validator and kept as unapplied cash.
"""

from typing import Any

from temporalio.client import Client

from schemas.payment_events import DisputeClosed, DisputeOpened, PaymentEvent

RECORD_PAYMENT = "record_payment"
"""The run's update for `payment.succeeded`, `payment.failed` and `payment.refunded`."""
DISPUTE = "dispute"
"""The run's update for `dispute.opened` and `dispute.closed`."""

RUN_HANDLERS: frozenset[str] = frozenset({RECORD_PAYMENT, DISPUTE})
"""The updates a run handles."""


def update_for(event: PaymentEvent) -> str:
    return DISPUTE if isinstance(event, DisputeOpened | DisputeClosed) else RECORD_PAYMENT


async def deliver(client: Client, workflow_id: str, event: PaymentEvent) -> Any:
    """Send the event to its run; the update id is the event's business key, so a redelivered
    event is applied once."""
    handle = client.get_workflow_handle(workflow_id)
    return await handle.execute_update(update_for(event), event, id=event.business_key)
