"""The journal lines of revenue: the deferral posted with a document, and the monthly
recognition entry (Dr deferred revenue / Cr revenue, per product line)."""

from collections.abc import Iterable
from decimal import Decimal

from billing.journal import RECEIVABLE, REVENUE, TAX_PAYABLE
from schemas.invoice import Invoice
from schemas.journal import JournalEntry
from schemas.revenue import PostedScheduleEntry, ScheduleEntry

DEFERRED_REVENUE = "2400 Deferred revenue"
_ZERO = Decimal(0)


def _credit(account: str, amount: Decimal, description: str) -> JournalEntry:
    """A signed amount on its side: positive is a credit, negative a debit."""
    if amount >= 0:
        return JournalEntry(account=account, debit=_ZERO, credit=amount, description=description)
    return JournalEntry(account=account, debit=-amount, credit=_ZERO, description=description)


def split_deferred(
    entries: Iterable[ScheduleEntry], *, billed_month: str, product_line: str
) -> list[PostedScheduleEntry]:
    """Each entry marked deferred when its month is the billing month or later (the monthly
    run recognises it); months already over are recognised with the document."""
    return [
        PostedScheduleEntry(
            **entry.model_dump(), product_line=product_line, deferred=entry.month >= billed_month
        )
        for entry in entries
    ]


def deferral_journal(invoice: Invoice, entries: list[PostedScheduleEntry]) -> list[JournalEntry]:
    """Dr receivable / Cr deferred revenue / Cr revenue (what is recognised at once) / Cr tax;
    a credit note's negative entries put each on the other side."""
    sign = -1 if invoice.document_type == "credit_note" else 1
    deferred = sum((e.amount for e in entries if e.deferred), _ZERO)
    at_once = sum((e.amount for e in entries if not e.deferred), _ZERO)
    journal = [_credit(RECEIVABLE, -sign * invoice.total, "Invoice total")]
    if deferred:
        journal.append(_credit(DEFERRED_REVENUE, deferred, "Deferred revenue"))
    if at_once:
        product_line = entries[0].product_line
        journal.append(
            _credit(REVENUE, at_once, f"Revenue recognised at once, product line {product_line}")
        )
    if invoice.tax_total:
        journal.append(_credit(TAX_PAYABLE, sign * invoice.tax_total, "Tax"))
    return journal


def recognition_journal(entries: Iterable[PostedScheduleEntry]) -> list[JournalEntry]:
    """Dr deferred revenue / Cr revenue per product line, for the entries recognised."""
    by_line: dict[str, Decimal] = {}
    for entry in entries:
        by_line[entry.product_line] = by_line.get(entry.product_line, _ZERO) + entry.amount
    journal = []
    for product_line in sorted(by_line):
        amount = by_line[product_line]
        if not amount:
            continue
        journal.append(
            _credit(DEFERRED_REVENUE, -amount, f"Deferred revenue released, {product_line}")
        )
        journal.append(_credit(REVENUE, amount, f"Revenue, product line {product_line}"))
    return journal
