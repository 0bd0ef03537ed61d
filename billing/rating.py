"""Rating: a contract, its usage and a period in; an untaxed invoice (or credit note) out.

Conventions (see docs/billing.md):

- A run rates the billing period `[period_start, period_end)` that it closes; the period
  must lie inside one of the contract's billing periods (`billing.periods`).
- Usage charges bill the usage of the run's period (always in arrears).
- Recurring fees *in arrears* bill the run's period; recurring fees *paid in advance* bill
  the period that starts when the run's period ends.
- The activation run (`activation`) bills at once the first period's in-advance fees,
  prorated from `start_date`, and the one-time fees without a milestone; nothing else. The
  first period's close then leaves them out (`activation_billed`). A contract activated
  without such a run has its first period's in-advance and one-time fees billed at its close.
- A milestone run bills only the one-time fees with that milestone and nothing else.
- Recurring fees and the minimum commitment are prorated by days to the days the contract
  is active (`start_date` inclusive, `end_date` exclusive), `billing.proration`.
- The minimum commitment of a period is compared with the period's usage and recurring fees
  (rounded lines, whichever invoice carries them); a shortfall is a true-up line.
- Discounts come last, `billing.discounts`.
- Each line is rounded half-up to the currency's ISO 4217 minor unit, keeping the unrounded
  figure; the subtotal is the sum of rounded lines.
- A downward change (unused in-advance fees after an upgrade, a downgrade or a termination)
  is a credit note from `rate_amendment`, never a negative line on an invoice.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal

from billing.charges import PricedCharge, Rated, price_charge
from billing.discounts import apply_discounts
from billing.money import round_money
from billing.periods import Alignment, BillingCalendar, BillingInterval, Period
from billing.proration import prorate
from billing.rating_error import RatingError
from billing.trusted import construct
from schemas.contract import Contract
from schemas.invoice import Invoice, InvoiceLine
from schemas.usage import UsageSummary

__all__ = ["RatingError", "billing_calendar", "rate_amendment", "rate_contract"]

_ZERO = Decimal(0)

_CHARGE_LINE_FIELDS = frozenset(InvoiceLine.model_fields)
_DISCOUNT_LINE_FIELDS = _CHARGE_LINE_FIELDS - {"quantity", "unit_amount"}
_INVOICE_FIELDS = frozenset(Invoice.model_fields) - {"tax_lines"}


@dataclass(slots=True)
class _Draft:
    charge_id: str
    description: str
    charge_model: str
    rated: Rated
    period: Period
    quantity: Decimal | None = None


def billing_calendar(contract: Contract) -> BillingCalendar:
    return _calendar(
        contract.billing_interval, contract.alignment, contract.start_date, contract.bill_cycle_day
    )


@lru_cache(maxsize=4096)
def _calendar(
    interval: BillingInterval, alignment: Alignment, start_date: date, bill_cycle_day: int | None
) -> BillingCalendar:
    # Immutable, and every run of a contract asks for the same one.
    return BillingCalendar.for_contract(
        interval=interval, alignment=alignment, start_date=start_date, bill_cycle_day=bill_cycle_day
    )


def rate_contract(
    *,
    contract: Contract,
    usage: UsageSummary,
    period_start: date,
    period_end: date,
    invoice_id: str,
    milestone_id: str | None = None,
    activation: bool = False,
    activation_billed: bool = False,
) -> Invoice:
    """The untaxed invoice of one run: `tax_lines` empty, `total == subtotal`.

    `activation`: the run that activates the contract (its invoice may have no lines).
    `activation_billed`: an activation run billed the first period's in-advance and
    one-time fees, so a run in the first period leaves them out.
    Raises `RatingError(field, message)` for anything that cannot be rated exactly.
    """
    run = _run_period(period_start, period_end)
    priced = _price_all(contract)
    drafts: list[_Draft]
    notes: list[str] = []
    if milestone_id is not None and activation:
        raise RatingError("milestone_id", "an activation run bills no milestone")
    if milestone_id is not None:
        drafts = _milestone(priced, milestone_id, run)
    elif activation:
        billed, drafts = _activation(contract, priced, run)
        trusted = _exact_types((period_start, period_end), (invoice_id,))
        lines = _lines(drafts, contract.currency, prefix="L")
        return _document("invoice", invoice_id, contract, billed, lines, notes, trusted=trusted)
    else:
        _check_usage(contract, usage, run)
        calendar = billing_calendar(contract)
        period = calendar.containing(run.start)
        if run.end > period.end:
            raise RatingError(
                "period_end",
                f"{run.end} crosses the end of the billing period {period.start}..{period.end} "
                f"({calendar.describe()})",
            )
        active = run.overlap(contract.start_date, contract.end_date)
        if active is None:
            raise RatingError(
                "period_start",
                f"the contract is not active in {run.start}..{run.end} "
                f"(start_date {contract.start_date}, end_date {contract.end_date})",
            )
        first = period.start <= contract.start_date < period.end
        unbilled = first and not activation_billed
        drafts = []
        drafts += _one_time(priced, run) if unbilled else []
        drafts += _recurring(priced, contract, calendar, period, run, active, unbilled)
        usage_drafts = _usage(priced, usage, run)
        drafts += usage_drafts
        drafts += _true_up(contract, priced, usage_drafts, period, active)
    lines = _lines(drafts, contract.currency, prefix="L")
    base = sum((line.amount for line in lines), _ZERO)
    if milestone_id is None:
        for applied in apply_discounts(contract.discounts, base=base, currency=contract.currency):
            values = {
                "line_id": f"L{len(lines) + 1}",
                "charge_id": applied.discount.id,
                "description": applied.discount.description,
                "charge_model": "discount",
                "quantity": None,
                "unit_amount": None,
                "amount": applied.amount,
                "unrounded_amount": applied.unrounded,
                "rule": applied.rule,
                "period_start": run.start,
                "period_end": run.end,
            }
            lines.append(construct(InvoiceLine, values, _DISCOUNT_LINE_FIELDS))
            if applied.note:
                notes.append(applied.note)
    trusted = _exact_types((period_start, period_end), (invoice_id,))
    return _document("invoice", invoice_id, contract, run, lines, notes, trusted=trusted)


def rate_amendment(
    *,
    previous_contract: Contract,
    contract: Contract,
    change_date: date,
    invoice_id: str,
    credit_note_id: str,
    activation_billed: bool = False,
) -> list[Invoice]:
    """The documents of a mid-period change on `change_date`: upgrade, downgrade, termination.

    In the billing period holding `change_date`, the in-advance recurring fees of
    `previous_contract` were billed for the whole period: their unused part
    `[change_date, period end)` comes back on a credit note. The in-advance recurring fees of
    the amended `contract` are charged for the same rest of the period on an invoice. Returns
    the invoice and/or the credit note, whichever has lines (an empty list when nothing
    changes in advance). In-arrears fees and usage are billed when the period closes. A
    change in the contract's first period is prorated the same way when an activation run
    billed that period (`activation_billed`); without one it is refused, as the first
    period's in-advance fees are then billed when it closes.
    """
    if previous_contract.id != contract.id:
        raise RatingError("contract.id", f"{contract.id} is not {previous_contract.id}")
    if previous_contract.currency != contract.currency:
        raise RatingError(
            "contract.currency",
            f"{contract.currency} differs from the previous {previous_contract.currency}",
        )
    period = billing_calendar(previous_contract).containing(change_date)
    if period.start <= previous_contract.start_date < period.end and not activation_billed:
        # No activation run: the first period's in-advance fees are billed when it closes,
        # nothing to credit yet, and the closing run would bill the whole period on the new
        # terms.
        raise RatingError(
            "change_date",
            f"{change_date} falls in the contract's first period ({period.start}..{period.end}), "
            "which is billed when it closes (no activation invoice): amend from the next "
            "period, or bill it by hand",
        )
    rest = Period(start=change_date, end=period.end)
    old = _advance_fees(_price_all(previous_contract), previous_contract, period, rest)
    new = _advance_fees(_price_all(contract), contract, period, rest)
    documents: list[Invoice] = []
    trusted = _exact_types((change_date,), (invoice_id, credit_note_id))
    if new:
        lines = _lines(new, contract.currency, prefix="L")
        documents.append(
            _document("invoice", invoice_id, contract, rest, lines, [], trusted=trusted)
        )
    if old:
        credits = [
            _Draft(
                charge_id=d.charge_id,
                description=f"Credit: unused {d.description}",
                charge_model=d.charge_model,
                rated=Rated(amount=d.rated.amount, rule=f"credit for unused {d.rated.rule}"),
                period=d.period,
            )
            for d in old
        ]
        lines = _lines(credits, contract.currency, prefix="C")
        note = f"credits the unused part of in-advance fees from {change_date}"
        documents.append(
            _document(
                "credit_note",
                credit_note_id,
                previous_contract,
                rest,
                lines,
                [note],
                trusted=trusted,
            )
        )
    return documents


def _run_period(start: date, end: date) -> Period:
    if end <= start:
        raise RatingError("period_end", f"{end} is not after period_start {start}")
    return Period(start=start, end=end)


def _price_all(contract: Contract) -> list[PricedCharge]:
    priced = []
    for index, charge in enumerate(contract.charges):
        path = f"charges.{index}"
        if charge.currency is not None and charge.currency != contract.currency:
            raise RatingError(
                f"{path}.currency",
                f"{charge.currency} differs from the contract's {contract.currency}",
            )
        priced.append(price_charge(charge, path))
    declared = {metric.code for metric in contract.metrics}
    if declared:
        for item in priced:
            metric = item.charge.metric
            if item.charge.kind == "usage" and metric not in declared:
                raise RatingError(
                    f"{item.path}.metric",
                    f"unknown metric {metric!r} (declared: {', '.join(sorted(declared))})",
                )
    return priced


def _check_usage(contract: Contract, usage: UsageSummary, run: Period) -> None:
    if usage.contract_id != contract.id:
        raise RatingError("usage.contract_id", f"{usage.contract_id} is not {contract.id}")
    if usage.period_start != run.start or usage.period_end != run.end:
        raise RatingError(
            "usage.period_start",
            f"usage covers {usage.period_start}..{usage.period_end}, not {run.start}..{run.end}",
        )
    declared = {metric.code for metric in contract.metrics}
    for source, keys in (("quantities", usage.quantities), ("events", usage.events)):
        for metric in keys:
            if declared and metric not in declared:
                raise RatingError(f"usage.{source}.{metric}", "unknown metric for this contract")
    for metric, quantity in usage.quantities.items():
        if quantity < 0:
            raise RatingError(f"usage.quantities.{metric}", f"{quantity} is negative")
    for metric, values in usage.events.items():
        for position, value in enumerate(values):
            if value < 0:
                raise RatingError(f"usage.events.{metric}.{position}", f"{value} is negative")


def _milestone(priced: list[PricedCharge], milestone_id: str, run: Period) -> list[_Draft]:
    drafts = [
        _fee(
            item,
            Rated(amount=item.flat_amount, rule=f"milestone {milestone_id}: one-time fee"),
            run,
        )
        for item in priced
        if item.charge.kind == "one_time" and item.charge.milestone_id == milestone_id
    ]
    if not drafts:
        raise RatingError("milestone_id", f"no one-time charge has milestone {milestone_id!r}")
    return drafts


def _activation(
    contract: Contract, priced: list[PricedCharge], run: Period
) -> tuple[Period, list[_Draft]]:
    """The active part of the first period, and what is billed for it at activation: its
    in-advance recurring fees prorated from `start_date`, and the one-time fees without a
    milestone."""
    calendar = billing_calendar(contract)
    period = calendar.containing(contract.start_date)
    if not period.start <= run.start < period.end:
        raise RatingError(
            "period_start",
            f"{run.start} is not in the contract's first period {period.start}..{period.end} "
            f"(start_date {contract.start_date}, {calendar.describe()}): an activation bills "
            "the first period",
        )
    active = period.overlap(contract.start_date, contract.end_date)
    if active is None:
        raise RatingError(
            "end_date", f"the contract ends on its start_date {contract.start_date}: no activation"
        )
    drafts = _one_time(priced, active)
    drafts += [
        _prorated(item, active, period, "in advance, on activation")
        for item in priced
        if item.charge.kind == "recurring" and item.charge.pay_in_advance
    ]
    return active, drafts


def _one_time(priced: list[PricedCharge], run: Period) -> list[_Draft]:
    return [
        _fee(item, Rated(amount=item.flat_amount, rule="one-time fee, billed on activation"), run)
        for item in priced
        if item.charge.kind == "one_time" and item.charge.milestone_id is None
    ]


def _recurring(
    priced: list[PricedCharge],
    contract: Contract,
    calendar: BillingCalendar,
    period: Period,
    run: Period,
    active: Period,
    first: bool,
) -> list[_Draft]:
    drafts = []
    for item in priced:
        if item.charge.kind != "recurring":
            continue
        if not item.charge.pay_in_advance:
            drafts.append(_prorated(item, active, period, "in arrears"))
            continue
        if first:
            drafts.append(_prorated(item, active, period, "in advance, first period"))
        if run.end == period.end:
            following = calendar.following(period)
            ahead = following.overlap(contract.start_date, contract.end_date)
            if ahead is not None:
                drafts.append(_prorated(item, ahead, following, "in advance"))
    return drafts


def _advance_fees(
    priced: list[PricedCharge], contract: Contract, period: Period, rest: Period
) -> list[_Draft]:
    segment = rest.overlap(contract.start_date, contract.end_date)
    if segment is None:
        return []
    return [
        _prorated(item, segment, period, "in advance, rest of the period")
        for item in priced
        if item.charge.kind == "recurring" and item.charge.pay_in_advance
    ]


def _prorated(item: PricedCharge, segment: Period, period: Period, timing: str) -> _Draft:
    share = prorate(item.flat_amount, segment=segment, period=period)
    return _fee(
        item, Rated(amount=share.amount, rule=f"recurring fee {timing}: {share.rule}"), segment
    )


def _fee(item: PricedCharge, rated: Rated, period: Period) -> _Draft:
    return _Draft(
        charge_id=item.charge.id,
        description=item.charge.description,
        charge_model=item.charge.charge_model,
        rated=rated,
        period=period,
    )


def _usage(priced: list[PricedCharge], usage: UsageSummary, run: Period) -> list[_Draft]:
    drafts = []
    quantities = usage.quantities
    for item in priced:
        charge = item.charge
        if charge.kind != "usage":
            continue
        metric = charge.metric
        assert metric is not None  # the Charge model requires it for usage
        quantity = quantities.get(metric)
        if quantity is None:
            raise RatingError(
                f"usage.quantities.{metric}",
                f"is missing: {item.path} bills this metric (report 0 for no usage)",
            )
        model = charge.charge_model
        events = None
        if model == "percentage":
            # Only percentage charges price per event; other models rate the quantity alone.
            events = usage.events.get(metric)
            if events is not None and sum(events, _ZERO) != quantity:
                raise RatingError(
                    f"usage.events.{metric}",
                    f"add up to {sum(events, _ZERO)}, but usage.quantities.{metric} is {quantity}",
                )
            if events is None and item.needs_events():
                raise RatingError(
                    f"usage.events.{metric}",
                    f"is required: {item.path} (percentage) charges per event",
                )
        drafts.append(
            _Draft(
                charge_id=charge.id,
                description=charge.description,
                charge_model=model,
                rated=item.rate(quantity, events),
                period=run,
                quantity=quantity,
            )
        )
    return drafts


def _true_up(
    contract: Contract,
    priced: list[PricedCharge],
    usage_drafts: list[_Draft],
    period: Period,
    active: Period,
) -> list[_Draft]:
    commitment = contract.minimum_commitment
    if commitment is None:
        return []
    if commitment < 0:
        raise RatingError("minimum_commitment", f"{commitment} is negative")
    currency = contract.currency
    due = prorate(commitment, segment=active, period=period)
    minimum = round_money(due.amount, currency)
    # The period's recurring fees count whichever invoice carries them (in advance: the
    # previous one), so the true-up does not depend on the payment timing.
    spent = sum(
        (
            round_money(prorate(item.flat_amount, segment=active, period=period).amount, currency)
            for item in priced
            if item.charge.kind == "recurring"
        ),
        _ZERO,
    ) + sum((round_money(d.rated.amount, currency) for d in usage_drafts), _ZERO)
    if spent >= minimum:
        return []
    rule = (
        f"minimum commitment {due.rule}: {minimum!s} due, {spent!s} of usage and recurring fees, "
        f"true-up {minimum - spent!s}"
    )
    return [
        _Draft(
            charge_id="minimum_commitment",
            description="Minimum commitment true-up",
            charge_model="minimum_commitment",
            rated=Rated(amount=minimum - spent, rule=rule),
            period=active,
        )
    ]


def _lines(drafts: Iterable[_Draft], currency: str, *, prefix: str) -> list[InvoiceLine]:
    """The lines of `drafts`, rounded; built from the engine's own values (`billing.trusted`)."""
    return [
        construct(
            InvoiceLine,
            {
                "line_id": f"{prefix}{number}",
                "charge_id": draft.charge_id,
                "description": draft.description,
                "charge_model": draft.charge_model,
                "quantity": draft.quantity,
                "unit_amount": draft.rated.unit_amount if draft.quantity is not None else None,
                "amount": round_money(draft.rated.amount, currency),
                "unrounded_amount": draft.rated.amount,
                "rule": draft.rated.rule,
                "period_start": draft.period.start,
                "period_end": draft.period.end,
            },
            _CHARGE_LINE_FIELDS,
        )
        for number, draft in enumerate(drafts, start=1)
    ]


def _document(
    document_type: Literal["invoice", "credit_note"],
    invoice_id: str,
    contract: Contract,
    period: Period,
    lines: list[InvoiceLine],
    notes: list[str],
    *,
    trusted: bool,
) -> Invoice:
    """The invoice of `lines`; `trusted` when every input of the run is of its exact type.

    Trusted: built from the engine's own values without validating them again
    (`billing.trusted`). Otherwise validated as a whole, as the dict of every value given,
    which refuses what the types of the call did not promise (a datetime for a date, a
    number for an id).
    """
    subtotal = sum((line.amount for line in lines), _ZERO)
    values: dict[str, Any] = {
        "invoice_id": invoice_id,
        "document_type": document_type,
        "contract_id": contract.id,
        "customer_id": contract.customer_id,
        "currency": contract.currency,
        "period_start": period.start,
        "period_end": period.end,
        "lines": lines,
        "tax_lines": [],
        "subtotal": subtotal,
        "tax_total": round_money(_ZERO, contract.currency),
        "total": subtotal,
        "notes": notes,
    }
    if trusted:
        return construct(Invoice, values, _INVOICE_FIELDS)
    values["lines"] = [_given(line) for line in lines]
    del values["tax_lines"]
    return Invoice.model_validate(values)


def _given(line: InvoiceLine) -> dict[str, Any]:
    return {key: value for key, value in vars(line).items() if key in line.model_fields_set}


def _exact_types(days: tuple[date, ...], ids: tuple[str, ...]) -> bool:
    """Whether the run's own arguments are exactly the types declared (not a datetime, say)."""
    for day in days:
        if type(day) is not date:
            return False
    for id_ in ids:
        if type(id_) is not str:
            return False
    return True
