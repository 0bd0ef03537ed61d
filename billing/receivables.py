"""Receivables figures over a period, per currency, from the documents and what settled them.

All figures are as of the end of a day: an item's open amount on day d is its total less the
payments, credits and write-offs dated on or before d, plus the refunds of its payments dated
on or before d (a refunded payment is owed again). For a period [start, end] (both days
included, n days):

- beginning receivables B: open at the end of the day before `start`;
- credit sales S: totals of the items issued in the period;
- ending receivables E: open at the end of `end`; E_current the part not yet past due;
- DSO = E / S × n (days, one decimal; none without sales);
- collection effectiveness index CEI = (B + S − E) / (B + S − E_current) × 100 (percent, one
  decimal; none when the denominator is zero);
- aging of E by days past due: current (not past due), 1–30, 31–60, 61–90, 90+;
- write-offs dated in the period; dispute rate = disputes opened in the period / items issued
  in the period × 100 (counted over every currency).

Ratios are rounded half-up to one decimal; money sums are exact (each amount is at the
currency's minor unit) and rounded with `round_money` for the record.
"""

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from billing.money import round_money
from schemas.money import Amount, CurrencyCode

AGING_BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")
ONE_DECIMAL = Decimal("0.1")
ZERO = Decimal(0)


class ItemEvent(BaseModel):
    on: date
    kind: Literal["payment", "credit", "write_off", "refund"]
    amount: Amount = Field(gt=0)


class ReceivableItem(BaseModel):
    document_id: str
    customer_id: str
    currency: CurrencyCode
    issued_on: date
    due_on: date
    total: Amount = Field(ge=0)
    events: list[ItemEvent] = Field(default_factory=list)
    disputed_on: date | None = None

    @model_validator(mode="after")
    def _due_after_issue(self) -> "ReceivableItem":
        if self.due_on < self.issued_on:
            raise ValueError(f"due_on: {self.due_on} is before issued_on {self.issued_on}")
        return self

    def open_on(self, day: date) -> Decimal:
        """Still owed at the end of `day`; nothing before the item was issued."""
        if self.issued_on > day:
            return ZERO
        settled = sum(
            (-e.amount if e.kind == "refund" else e.amount for e in self.events if e.on <= day),
            ZERO,
        )
        return max(self.total - settled, ZERO)


def days_past_due(due_on: date | None, *, as_of: date) -> int:
    """Days past due at the end of `as_of`, 0 or less when not yet due; a document without a
    due date (a credit note) is never late: 0."""
    return (as_of - due_on).days if due_on is not None else 0


def aging_bucket(days_past_due: int) -> str:
    if days_past_due <= 0:
        return "current"
    if days_past_due <= 30:
        return "1-30"
    if days_past_due <= 60:
        return "31-60"
    if days_past_due <= 90:
        return "61-90"
    return "90+"


class CurrencyFigures(BaseModel):
    beginning: Amount
    sales: Amount
    ending: Amount
    ending_current: Amount
    dso_days: Decimal | None
    cei_percent: Decimal | None
    aging: dict[str, Amount] = Field(description="Ending receivables by bucket, all five")
    write_offs: Amount
    write_off_count: int


class ReceivablesFigures(BaseModel):
    start: date
    end: date
    by_currency: dict[str, CurrencyFigures]
    invoices_issued: int
    disputes_opened: int
    dispute_rate_percent: Decimal | None


def _ratio(numerator: Decimal, denominator: Decimal, scale: int) -> Decimal | None:
    if denominator == 0:
        return None
    return (numerator * scale / denominator).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def bucket_totals(
    open_amounts: Iterable[tuple[str, int, Decimal]],
) -> dict[str, dict[str, Decimal]]:
    """(currency, days past due, open amount) summed by bucket, per currency in code order,
    every bucket listed and rounded with `round_money`; an amount of 0 lists nothing."""
    buckets: dict[str, dict[str, Decimal]] = {}
    for currency, late, amount in open_amounts:
        if amount == 0:
            continue
        by_bucket = buckets.setdefault(currency, dict.fromkeys(AGING_BUCKETS, ZERO))
        by_bucket[aging_bucket(late)] += amount
    return {
        currency: {name: round_money(amount, currency) for name, amount in by_bucket.items()}
        for currency, by_bucket in sorted(buckets.items())
    }


def aging(items: Sequence[ReceivableItem], *, as_of: date) -> dict[str, dict[str, Decimal]]:
    """Open amounts at the end of `as_of` by bucket, per currency (every bucket listed)."""
    return bucket_totals(
        (item.currency, days_past_due(item.due_on, as_of=as_of), item.open_on(as_of))
        for item in items
    )


def receivables_figures(
    items: Sequence[ReceivableItem], *, start: date, end: date
) -> ReceivablesFigures:
    if end < start:
        raise ValueError(f"end: {end} is before start {start}")
    days = (end - start).days + 1
    before = start - timedelta(days=1)
    aged = aging(items, as_of=end)
    by_currency: dict[str, CurrencyFigures] = {}
    for currency in sorted({item.currency for item in items}):
        mine = [item for item in items if item.currency == currency]
        beginning = sum((item.open_on(before) for item in mine), ZERO)
        sales = sum((item.total for item in mine if start <= item.issued_on <= end), ZERO)
        ending = sum((item.open_on(end) for item in mine), ZERO)
        current = sum((item.open_on(end) for item in mine if item.due_on >= end), ZERO)
        write_offs = [
            event
            for item in mine
            for event in item.events
            if event.kind == "write_off" and start <= event.on <= end
        ]
        collected = beginning + sales - ending
        by_currency[currency] = CurrencyFigures(
            beginning=round_money(beginning, currency),
            sales=round_money(sales, currency),
            ending=round_money(ending, currency),
            ending_current=round_money(current, currency),
            dso_days=_ratio(ending, sales, days),
            cei_percent=_ratio(collected, beginning + sales - current, 100),
            aging=aged.get(currency, dict.fromkeys(AGING_BUCKETS, round_money(ZERO, currency))),
            write_offs=round_money(sum((e.amount for e in write_offs), ZERO), currency),
            write_off_count=len(write_offs),
        )
    issued = sum(1 for item in items if start <= item.issued_on <= end)
    disputes = sum(
        1 for item in items if item.disputed_on is not None and start <= item.disputed_on <= end
    )
    return ReceivablesFigures(
        start=start,
        end=end,
        by_currency=by_currency,
        invoices_issued=issued,
        disputes_opened=disputes,
        dispute_rate_percent=_ratio(Decimal(disputes), Decimal(issued), 100),
    )
