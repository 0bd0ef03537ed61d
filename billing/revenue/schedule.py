"""The revenue schedule of a document: per invoice line, the amount of each month.

Rounding: every month but the last is rounded half-up to the currency's minor unit, and
the last month takes what is left, so a line's schedule sums to the line to the cent.
A credit note's entries are negative: it reverses, month by month, what it credits.
"""

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from billing.money import round_money
from billing.revenue.credits import CreditedLine, credit_schedule
from billing.revenue.methods import METHODS, Shares, month_of
from schemas.contract import ChargeKind, RecognitionMethod
from schemas.invoice import Invoice, InvoiceLine
from schemas.revenue import RevenueTerms, ScheduleEntry

DEFAULT_METHOD: dict[ChargeKind, RecognitionMethod] = {
    "recurring": "ratable_daily",
    "usage": "as_billed",
    "one_time": "point_in_time",
}
"""A subscription fee is earned day by day, usage as consumed, a one-time fee when delivered."""

_LINE_METHODS: dict[str, RecognitionMethod] = {
    # A minimum-commitment true-up is earned with the usage it tops up. Any other line no
    # charge of the contract describes (a discount, a charge the contract no longer has) is
    # earned day by day over its own service period.
    "minimum_commitment": "as_billed",
}
_NAMES = ", ".join(METHODS)


class RevenueError(ValueError):
    """A schedule that cannot be computed; `field` names the culprit, nothing is posted."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def method_for(line: InvoiceLine, terms: RevenueTerms) -> RecognitionMethod:
    for index, charge in enumerate(terms.charges):
        if charge.charge_id == line.charge_id:
            method = charge.recognition or DEFAULT_METHOD[charge.kind]
            if method not in METHODS:  # a model built without validation
                raise RevenueError(
                    f"charges.{index}.recognition",
                    f"unknown method {method!r} (one of {_NAMES})",
                )
            return method
    return _LINE_METHODS.get(line.charge_model, "ratable_daily")


def line_schedule(
    amount: Decimal, currency: str, method: RecognitionMethod, start: date, end: date
) -> list[tuple[str, Decimal]]:
    """(month, amount) of one amount over `[start, end)`: sums to `amount` exactly, with
    months of a zero share left out."""
    if method not in METHODS:
        raise RevenueError(
            "recognition", f"unknown method {method!r} (one of {', '.join(METHODS)})"
        )
    if end < start:
        raise RevenueError(
            "period_end", f"the service period ends ({end}) before it starts ({start})"
        )
    shares: Shares = (
        [(month_of(start), amount)] if end == start else METHODS[method](amount, start, end)
    )
    rounded = [(month, round_money(share, currency)) for month, share in shares[:-1]]
    last_month = shares[-1][0]
    rounded.append((last_month, amount - sum((a for _, a in rounded), Decimal(0))))
    return [(month, value) for month, value in rounded if value]


def revenue_schedule(
    invoice: Invoice, terms: RevenueTerms, *, credited: Mapping[str, CreditedLine] | None = None
) -> list[ScheduleEntry]:
    """The schedule of every line of `invoice`, in line order then month order. A credit
    note's line found in `credited` (by line id) reverses what that invoice line has still
    to recognise (`billing.revenue.credits`); any other line is scheduled on its own.

    Raises `RevenueError` for a currency other than the contract's, an unknown method, or
    a line whose service period ends before it starts.
    """
    if invoice.currency != terms.currency:
        raise RevenueError(
            "currency", f"the document is in {invoice.currency}, the contract in {terms.currency}"
        )
    sign = -1 if invoice.document_type == "credit_note" else 1
    entries = []
    for index, line in enumerate(invoice.lines):
        start = line.period_start or invoice.period_start
        end = line.period_end or invoice.period_end
        if end < start:
            raise RevenueError(
                f"lines.{index}.period_end",
                f"the service period ends ({end}) before it starts ({start})",
            )
        against = (credited or {}).get(line.line_id) if sign < 0 else None
        months = (
            credit_schedule(line.amount, invoice.currency, against, start, end)
            if against is not None
            else line_schedule(line.amount, invoice.currency, method_for(line, terms), start, end)
        )
        for month, amount in months:
            entries.append(ScheduleEntry(line_id=line.line_id, month=month, amount=sign * amount))
    return entries


def terminate(entries: list[ScheduleEntry], *, month: str) -> list[ScheduleEntry]:
    """The schedule stopped by a termination in `month`: what was to be recognised after it
    is recognised in `month`, when the obligation ends, and no later month has an entry."""
    kept: dict[tuple[str, str], Decimal] = {}
    for entry in entries:
        key = (entry.line_id, min(entry.month, month))
        kept[key] = kept.get(key, Decimal(0)) + entry.amount
    return [
        ScheduleEntry(line_id=line_id, month=when, amount=amount)
        for (line_id, when), amount in kept.items()
        if amount
    ]
