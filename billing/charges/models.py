"""The charge models: a quantity (or per-event values) and typed properties in, `Rated` out.

Every model rates zero usage at zero: flat fees of tiers are charged only once a unit falls
into the tier, as Lago does.

Rules write amounts with `!s`: the same text as the default format of a `Decimal`, in a
fifth of the time, and a rule is written for every line rated.
"""

from collections.abc import Sequence
from decimal import ROUND_CEILING, Decimal

from billing.charges.properties import (
    GraduatedPercentageProperties,
    GraduatedProperties,
    PackageProperties,
    PercentageProperties,
    PercentageRange,
    PriceRange,
    StandardProperties,
    VolumeProperties,
)
from billing.charges.rated import Rated
from billing.charges.tiers import Tier

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


def standard(props: StandardProperties, quantity: Decimal) -> Rated:
    return Rated(
        amount=quantity * props.amount,
        rule=f"standard: {quantity!s} × {props.amount!s}",
        unit_amount=props.amount,
    )


def graduated(
    props: GraduatedProperties, tiers: Sequence[Tier[PriceRange]], quantity: Decimal
) -> Rated:
    del props  # the tiers carry the ranges, already checked
    total = _ZERO
    parts: list[str] = []
    for tier in tiers:
        units = tier.units_of(quantity)
        if units <= 0:
            break
        price = tier.range
        total += units * price.per_unit_amount + price.flat_amount
        parts.append(
            f"{tier.label}: {units!s} × {price.per_unit_amount!s} + {price.flat_amount!s} flat"
        )
    rule = "graduated: " + ("; ".join(parts) if parts else "no usage")
    return Rated(amount=total, rule=rule)


def volume(props: VolumeProperties, tiers: Sequence[Tier[PriceRange]], quantity: Decimal) -> Rated:
    del props
    if quantity == 0:
        return Rated(amount=_ZERO, rule="volume: no usage")
    tier = next(t for t in tiers if t.contains(quantity))
    price = tier.range
    return Rated(
        amount=quantity * price.per_unit_amount + price.flat_amount,
        rule=(
            f"volume: all {quantity!s} units at {tier.label}: "
            f"{quantity!s} × {price.per_unit_amount!s} + {price.flat_amount!s} flat"
        ),
        unit_amount=price.per_unit_amount,
    )


def package(props: PackageProperties, quantity: Decimal) -> Rated:
    paid = max(_ZERO, quantity - props.free_units)
    packages = (paid / props.package_size).to_integral_value(rounding=ROUND_CEILING)
    free = f", first {props.free_units} free" if props.free_units else ""
    return Rated(
        amount=packages * props.amount,
        rule=(
            f"package: {quantity!s} units{free} → {packages!s} package(s) of "
            f"{props.package_size} (rounded up) × {props.amount!s}"
        ),
        unit_amount=props.amount,
    )


def percentage(
    props: PercentageProperties, quantity: Decimal, events: Sequence[Decimal] | None
) -> Rated:
    """`rate`% of the amounts plus `fixed_amount` per paid event.

    Free units: the first `free_units_per_events` events and the first
    `free_units_per_total_aggregation` of the amount are free of both the rate and the fixed
    fee, whichever limit is reached first (events counted in the order given). An event that
    crosses the free amount pays the rate on its excess and the fixed fee. The
    per-transaction minimum and maximum bound each paid event's percentage fee.
    """
    rate = props.rate / _HUNDRED
    if events is None:
        # Only the total is known: the caller made sure no per-event property is set.
        paid = quantity
        if props.free_units_per_total_aggregation is not None:
            paid = max(_ZERO, quantity - props.free_units_per_total_aggregation)
        return Rated(
            amount=paid * rate,
            rule=f"percentage: {props.rate!s}% of {paid!s} (total {quantity!s})",
        )
    free_events = props.free_units_per_events
    free_left = props.free_units_per_total_aggregation
    window_open = free_events is not None or free_left is not None
    total = _ZERO
    paid_events = 0
    paid_amount = _ZERO
    for position, value in enumerate(events):
        chargeable = value
        if window_open:
            if free_events is not None and position >= free_events:
                window_open = False
            elif free_left is None:
                continue
            elif value <= free_left:
                free_left -= value
                continue
            else:
                chargeable = value - free_left
                free_left = _ZERO
                window_open = False
        fee = chargeable * rate
        if props.per_transaction_min_amount is not None:
            fee = max(fee, props.per_transaction_min_amount)
        if props.per_transaction_max_amount is not None:
            fee = min(fee, props.per_transaction_max_amount)
        total += fee + props.fixed_amount
        paid_events += 1
        paid_amount += chargeable
    bounds = ""
    if props.per_transaction_min_amount is not None or props.per_transaction_max_amount is not None:
        bounds = (
            f", each fee within [{props.per_transaction_min_amount or 0}, "
            f"{props.per_transaction_max_amount or '∞'}]"
        )
    return Rated(
        amount=total,
        rule=(
            f"percentage: {props.rate!s}% of {paid_amount!s} over {paid_events} paid event(s) of "
            f"{len(events)}{bounds} + {props.fixed_amount!s} per paid event"
        ),
    )


def graduated_percentage(
    props: GraduatedPercentageProperties,
    tiers: Sequence[Tier[PercentageRange]],
    quantity: Decimal,
) -> Rated:
    """Each tier's `rate`% of the amount inside it, plus its flat fee once the tier is entered."""
    del props
    total = _ZERO
    parts: list[str] = []
    for tier in tiers:
        units = tier.units_of(quantity)
        if units <= 0:
            break
        price = tier.range
        total += units * price.rate / _HUNDRED + price.flat_amount
        parts.append(f"{tier.label}: {price.rate!s}% of {units!s} + {price.flat_amount!s} flat")
    rule = "graduated_percentage: " + ("; ".join(parts) if parts else "no usage")
    return Rated(amount=total, rule=rule)
