"""What a run says about itself from its start: the Web UI's static summary (one line, in the
list and on top of the run's page) and static details (Markdown, under it).

Business keys only (contract, customer id, period, the event): never a customer's name or
e-mail, which the summary would show to everyone who may list the namespace's runs."""

from datetime import timedelta

from schemas.events import ContractEvent, MilestoneCompleted, workflow_id_for

REASONS = {
    "contract.activated": "Contract activated",
    "contract.renewed": "Contract renewed",
    "billing_cycle.closed": "Billing cycle closed",
    "usage.period_closed": "Usage period closed",
    "contract.amended": "Contract amended",
    "milestone.completed": "Milestone completed",
}
"""Why the run was started, per event type."""


def _period(event: ContractEvent) -> str:
    if isinstance(event, MilestoneCompleted):
        return f"milestone {event.milestone_id} on {event.completed_on}"
    last = event.period_end - timedelta(days=1)
    return f"{event.period_start} to {last}"


def run_summary(event: ContractEvent, *, customer_id: str = "") -> str:
    """ "Billing cycle closed · contract C-1009 · customer CUST-9 · 2026-10-01 to 2026-10-31"."""
    parts = [REASONS[event.type], f"contract {event.contract_id}"]
    if customer_id:
        parts.append(f"customer {customer_id}")
    parts.append(_period(event))
    return " · ".join(parts)


def run_details(event: ContractEvent, *, customer_id: str = "") -> str:
    """The event that started the run, and where to look for what it waits for."""
    rows = [
        ("Started by", f"`{event.type}` event `{event.event_id}`, occurred {event.occurred_at}"),
        ("Contract", f"`{event.contract_id}`"),
        ("Customer", f"`{customer_id}`" if customer_id else "read from the CRM by the run"),
        ("Period" if not isinstance(event, MilestoneCompleted) else "Milestone", _period(event)),
        ("Business key", f"`{workflow_id_for(event)}`"),
    ]
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    return (
        "| | |\n|---|---|\n" + table + "\n\nWhat the run waits for, and how to answer it, is in "
        "its current details (the `status` query has the same in JSON)."
    )
