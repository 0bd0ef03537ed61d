"""Payment and dispute events to the run that owns the invoice, through one update each.

The run's collection phase is where `record_payment` and `dispute` will be handled. Until a
run has them, `RUN_HANDLERS` is empty and every payment event is kept as unapplied cash;
wiring the handlers is adding their names to it.
"""

from typing import Any

from temporalio.client import Client

from schemas.payment_events import DisputeClosed, DisputeOpened, PaymentEvent

RECORD_PAYMENT = "record_payment"
"""The run's update for `payment.succeeded`, `payment.failed` and `payment.refunded`."""
DISPUTE = "dispute"
"""The run's update for `dispute.opened` and `dispute.closed`."""

RUN_HANDLERS: frozenset[str] = frozenset()
"""The updates a run handles today: none yet (add RECORD_PAYMENT and DISPUTE with the
collection phase)."""


def update_for(event: PaymentEvent) -> str:
    return DISPUTE if isinstance(event, DisputeOpened | DisputeClosed) else RECORD_PAYMENT


async def deliver(client: Client, workflow_id: str, event: PaymentEvent) -> Any:
    """Send the event to its run; the update id is the event's business key, so a redelivered
    event is applied once."""
    handle = client.get_workflow_handle(workflow_id)
    return await handle.execute_update(update_for(event), event, id=event.business_key)
