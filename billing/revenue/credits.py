"""A credit note's schedule from the invoice line it credits: it reverses what that line has
still to recognise from the credit's start, so the line's schedule shrinks, or stops.

A credit line gives back `amount` of an invoice line for the service `[start, end)`. Per
month from the credit's start, the invoice line's entry (net of earlier credits) is
*covered* by the share of the line's service days in that month that the credit takes:

- a month the credit covers whole is reversed whole, whatever its sign: a schedule whose
  cents overshoot by rounding has a negative remainder on its last month, and that too is
  given back, so after a termination nothing of the line is left to recognise after its
  end (the schedule stops);
- the credit's part months (its first, its last) take the rest of the amount, in
  proportion to their covered share, rounded half-up with the remainder on the last one
  (a cent that rating's proration and the schedule's rounding disagree on is caught up in
  the credit's first month);
- when the whole months alone come to more than the amount (a credit of part of the fee,
  not of part of the period: Stripe's pre-payment credit note), every covered month gives
  back its covered share of the amount, the remainder on the last month.

The result sums to the amount exactly. A credit of nothing still to recognise (the line was
recognised at once, or a one-time fee's month is past) reverses it all in the credit's
first month: revenue given back when it is credited (ASC 606-10-32-10, a refund liability).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from billing.money import round_money
from billing.revenue.methods import first_of_next_month, month_of
from schemas.invoice import Invoice, InvoiceLine

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class CreditedLine:
    """The invoice line a credit line gives fees back for: its service period and the
    entries its schedule has (month "YYYY-MM", positive amount), net of earlier credits."""

    start: date
    end: date
    entries: list[tuple[str, Decimal]] = field(default_factory=list)


def _days_in(month: str, start: date, end: date) -> int:
    first = date(int(month[:4]), int(month[5:]), 1)
    low, high = max(first, start), min(first_of_next_month(first), end)
    return max((high - low).days, 0)


def credit_schedule(
    amount: Decimal, currency: str, credited: CreditedLine, start: date, end: date
) -> list[tuple[str, Decimal]]:
    """(month, amount given back) of a credit of `amount` for `[start, end)` against
    `credited`: in month order, summing to `amount` exactly; an amount is negative only
    where it gives back a negative entry of the credited line."""
    by_month: dict[str, Decimal] = {}
    for month, value in credited.entries:
        by_month[month] = by_month.get(month, _ZERO) + value
    low, high = max(start, credited.start), min(end, credited.end)
    cover: dict[str, Decimal] = {}
    for month in sorted(by_month):
        line_days = _days_in(month, credited.start, credited.end)
        taken = _days_in(month, low, high) if high > low else 0
        if by_month[month] and (share := _share(month, line_days, taken, low)) > 0:
            cover[month] = share
    if not cover or amount <= 0:
        return [(month_of(start), amount)] if amount else []
    whole = {m: by_month[m] for m, share in cover.items() if share == 1}
    parts = [m for m, share in cover.items() if share < 1]
    rest = amount - sum(whole.values(), _ZERO)
    if rest >= 0:
        given = dict(whole)
        if parts:
            given.update(_spread(rest, currency, {m: by_month[m] * cover[m] for m in parts}))
        else:
            first = min(given)
            given[first] += rest
        return [(m, given[m]) for m in sorted(given) if given[m]]
    spread = _spread(amount, currency, {m: by_month[m] * cover[m] for m in cover})
    return [(m, spread[m]) for m in sorted(spread) if spread[m]]


def _share(month: str, line_days: int, taken: int, low: date) -> Decimal:
    """The share of the line's `month` entry the credit covers. A month holding none of the
    line's service days (a whole-month method's label) is covered from the credit's month."""
    if line_days:
        return Decimal(taken) / Decimal(line_days)
    return Decimal(1) if month >= month_of(low) else _ZERO


def _spread(amount: Decimal, currency: str, weights: dict[str, Decimal]) -> dict[str, Decimal]:
    """`amount` in proportion to the positive `weights`, half-up, the remainder on the last
    of them. A month whose entry is negative (a schedule's rounding remainder) takes no part;
    with no positive weight at all, the first month takes the whole amount."""
    months = sorted(m for m, weight in weights.items() if weight > 0)
    if not months:
        return {min(weights): amount}
    total = sum((weights[m] for m in months), _ZERO)
    shares = {m: round_money(amount * weights[m] / total, currency) for m in months[:-1]}
    shares[months[-1]] = amount - sum(shares.values(), _ZERO)
    return shares


@dataclass(frozen=True, slots=True)
class PostedSchedule:
    """A document the ERP holds for the contract, with its schedule entries (signed)."""

    posting_key: str
    invoice: Invoice
    entries: list[tuple[str, str, Decimal]]
    """(line_id, month, signed amount)."""


def _period(line: InvoiceLine, document: Invoice) -> tuple[date, date]:
    return line.period_start or document.period_start, line.period_end or document.period_end


def credited_lines(
    credit_note: Invoice, posted: Iterable[PostedSchedule]
) -> dict[str, CreditedLine]:
    """For each line of `credit_note`, the invoice line it credits among `posted` (in posting
    order): the latest invoice line of the same charge whose service period holds the
    credit's start, with its entries net of what earlier credit notes gave back of it.
    A line with no such invoice line (billed before q2c kept schedules) is left out."""
    documents = list(posted)
    found: dict[str, CreditedLine] = {}
    for line in credit_note.lines:
        start, _ = _period(line, credit_note)
        match: tuple[PostedSchedule, InvoiceLine] | None = None
        for document in documents:
            if document.invoice.document_type != "invoice":
                continue
            for billed in document.invoice.lines:
                billed_start, billed_end = _period(billed, document.invoice)
                if billed.charge_id == line.charge_id and billed_start <= start < billed_end:
                    match = (document, billed)
        if match is None:
            continue
        document, billed = match
        billed_start, billed_end = _period(billed, document.invoice)
        entries = [(m, a) for lid, m, a in document.entries if lid == billed.line_id]
        after = documents[documents.index(document) + 1 :]
        for earlier in after:
            if earlier.invoice.document_type != "credit_note":
                continue
            for given in earlier.invoice.lines:
                given_start, _ = _period(given, earlier.invoice)
                if given.charge_id == line.charge_id and billed_start <= given_start < billed_end:
                    entries += [(m, a) for lid, m, a in earlier.entries if lid == given.line_id]
        found[line.line_id] = CreditedLine(start=billed_start, end=billed_end, entries=entries)
    return found
