"""The report's receivables, from the audit trail: each collecting run's invoice, what settled
it and when, and its disputes, made into the items `billing/receivables.py` computes DSO,
CEI, aging, write-offs and the dispute rate from.

The rows it reads (written by the audit interceptor and the workflow, see
docs/collections.md, "Receivables in the report"):
- `post_invoice` (success): amount, currency, detail `"<document type> <posting key>"`; the
  first invoice of a run is its receivable, issued the day it posted; a credit note whose key
  holds `:dispute-credit:` credits it that day;
- `plan_collection` (success): detail `"due <date>"`, the invoice's due date;
- `post_payment`, `post_write_off`, `post_refund` (success): the amount applied to the
  invoice, detail `"value <date> <reference>"`: dated by their value date;
- `dispute` / `disputed` (recorded by the workflow): the day a dispute opened.
A run recorded before these rows existed (no due date on its plan) is not counted.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Literal

from billing.receivables import ItemEvent, ReceivableItem, ReceivablesFigures, receivables_figures
from schemas.audit import Handoff, Outcome, Step

CASH_STEPS: dict[str, Literal["payment", "write_off", "refund"]] = {
    "post_payment": "payment",
    "post_write_off": "write_off",
    "post_refund": "refund",
}
DISPUTE_CREDIT = ":dispute-credit:"


def _amount(row: Handoff) -> Decimal | None:
    try:
        amount = Decimal(row.amount)
    except InvalidOperation:
        return None
    return amount if amount > 0 else None


def _day(text: str, prefix: str) -> date | None:
    words = text.split()
    if len(words) < 2 or words[0] != prefix:
        return None
    try:
        return date.fromisoformat(words[1])
    except ValueError:
        return None


def _item(rows: list[Handoff]) -> ReceivableItem | None:
    done = [r for r in rows if r.outcome is Outcome.SUCCESS]
    plan = next((r for r in done if r.step == "plan_collection"), None)
    due = _day(plan.detail, "due") if plan is not None else None
    posted = [r for r in done if r.step == "post_invoice"]
    invoice = next((r for r in posted if r.detail.startswith("invoice ")), None)
    total = _amount(invoice) if invoice is not None else None
    if due is None or invoice is None or total is None:
        return None
    issued = invoice.finished_at.date()
    events: list[ItemEvent] = []
    for row in done:
        amount = _amount(row)
        if amount is None:
            continue
        if row.step in CASH_STEPS:
            on = _day(row.detail, "value") or row.finished_at.date()
            events.append(ItemEvent(on=on, kind=CASH_STEPS[row.step], amount=amount))
        elif row.step == "post_invoice" and DISPUTE_CREDIT in row.detail:
            events.append(ItemEvent(on=row.finished_at.date(), kind="credit", amount=amount))
    disputes = [r for r in rows if r.step == Step.DISPUTE and r.outcome is Outcome.DISPUTED]
    return ReceivableItem(
        document_id=invoice.detail.split()[-1],
        customer_id=next((r.customer_id for r in rows if r.customer_id), ""),
        currency=invoice.currency,
        issued_on=issued,
        due_on=max(due, issued),  # a run whose clock ran ahead of the ERP's (a test server)
        total=total,
        events=events,
        disputed_on=min((r.finished_at.date() for r in disputes), default=None),
    )


def receivable_items(handoffs: Iterable[Handoff]) -> list[ReceivableItem]:
    """One item per run that went into collection, in the order the runs began."""
    by_run: dict[tuple[str, str], list[Handoff]] = defaultdict(list)
    for handoff in sorted(handoffs, key=lambda h: (h.finished_at, h.started_at)):
        by_run[(handoff.workflow_id, handoff.run_id)].append(handoff)
    found = (_item(rows) for rows in by_run.values())
    return [item for item in found if item is not None]


def receivables(
    handoffs: Iterable[Handoff], *, now: datetime, since: datetime | None
) -> ReceivablesFigures | None:
    """The figures over [since, now] (from the first invoice without `since`), or None when
    no run has collected."""
    items = receivable_items(handoffs)
    if not items:
        return None
    end = now.date()
    start = since.date() if since is not None else min(i.issued_on for i in items)
    return receivables_figures(items, start=min(start, end), end=end)
