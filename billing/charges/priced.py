"""A charge with its properties parsed and checked, ready to rate any quantity."""

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError

from billing.charges import models
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
from billing.charges.tiers import Tier, build_tiers
from billing.rating_error import RatingError, from_validation_error
from schemas.contract import Charge

_PROPERTIES: dict[str, type[BaseModel]] = {
    "standard": StandardProperties,
    "graduated": GraduatedProperties,
    "volume": VolumeProperties,
    "package": PackageProperties,
    "percentage": PercentageProperties,
    "graduated_percentage": GraduatedPercentageProperties,
}


@dataclass(slots=True)
class PricedCharge:
    charge: Charge
    path: str
    properties: BaseModel
    price_tiers: Sequence[Tier[PriceRange]] = ()
    percentage_tiers: Sequence[Tier[PercentageRange]] = ()

    @property
    def flat_amount(self) -> Decimal:
        """The fee of a recurring or one-time charge."""
        assert isinstance(self.properties, StandardProperties)
        return self.properties.amount

    def needs_events(self) -> bool:
        """Whether the charge prices each event (a percentage fee, free events, bounds)."""
        props = self.properties
        return isinstance(props, PercentageProperties) and (
            props.fixed_amount != 0
            or props.free_units_per_events is not None
            or props.per_transaction_min_amount is not None
            or props.per_transaction_max_amount is not None
        )

    def rate(self, quantity: Decimal, events: Sequence[Decimal] | None = None) -> Rated:
        return _RATERS[type(self.properties)](self, quantity, events)


def _standard(item: PricedCharge, quantity: Decimal, _: Sequence[Decimal] | None) -> Rated:
    assert isinstance(item.properties, StandardProperties)
    return models.standard(item.properties, quantity)


def _graduated(item: PricedCharge, quantity: Decimal, _: Sequence[Decimal] | None) -> Rated:
    assert isinstance(item.properties, GraduatedProperties)
    return models.graduated(item.properties, item.price_tiers, quantity)


def _volume(item: PricedCharge, quantity: Decimal, _: Sequence[Decimal] | None) -> Rated:
    assert isinstance(item.properties, VolumeProperties)
    return models.volume(item.properties, item.price_tiers, quantity)


def _package(item: PricedCharge, quantity: Decimal, _: Sequence[Decimal] | None) -> Rated:
    assert isinstance(item.properties, PackageProperties)
    return models.package(item.properties, quantity)


def _percentage(item: PricedCharge, quantity: Decimal, events: Sequence[Decimal] | None) -> Rated:
    assert isinstance(item.properties, PercentageProperties)
    return models.percentage(item.properties, quantity, events)


def _graduated_percentage(
    item: PricedCharge, quantity: Decimal, _: Sequence[Decimal] | None
) -> Rated:
    assert isinstance(item.properties, GraduatedPercentageProperties)
    return models.graduated_percentage(item.properties, item.percentage_tiers, quantity)


_RATERS: dict[type[BaseModel], Callable[[PricedCharge, Decimal, Sequence[Decimal] | None], Rated]]
_RATERS = {
    StandardProperties: _standard,
    GraduatedProperties: _graduated,
    VolumeProperties: _volume,
    PackageProperties: _package,
    PercentageProperties: _percentage,
    GraduatedPercentageProperties: _graduated_percentage,
}


@dataclass(slots=True)
class _Parsed:
    charge: Charge
    """The very charge parsed: held so its id is not reused while cached."""
    path: str
    kind: str
    model: str
    properties: dict[str, Any]
    snapshot: dict[str, Any]
    """A deep copy of the properties, to notice a dict changed in place since."""
    priced: PricedCharge

    def still_fits(self, charge: Charge, path: str) -> bool:
        return (
            self.charge is charge
            and self.path == path
            and self.properties is charge.properties
            and self.kind == charge.kind
            and self.model == charge.charge_model
            and self.snapshot == charge.properties
        )


_CACHE_SIZE = 4096
_cache: dict[int, _Parsed] = {}


def clear_cache() -> None:
    """Forget every parse: the next rating parses its properties as a fresh contract would."""
    _cache.clear()


def price_charge(charge: Charge, path: str) -> PricedCharge:
    """Parse `charge.properties` for its model; raise `RatingError` naming the bad field.

    A contract rated again (the preview, a re-rating, the benchmark) keeps its charge
    objects, so the parse is cached per charge object, checked against its model, kind and a
    snapshot of its properties. A freshly deserialised contract always parses.
    """
    hit = _cache.get(id(charge))
    if hit is not None and hit.still_fits(charge, path):
        return hit.priced
    priced = _parse(charge, path)
    if len(_cache) >= _CACHE_SIZE:
        _cache.clear()
    _cache[id(charge)] = _Parsed(
        charge=charge,
        path=path,
        kind=charge.kind,
        model=charge.charge_model,
        properties=charge.properties,
        snapshot=_snapshot(charge.properties),
        priced=priced,
    )
    return priced


_ATOMIC = frozenset({str, int, float, bool, type(None), Decimal})


def _snapshot(value: Any) -> Any:
    """A deep copy of `value`: JSON-like data by hand, anything else by `copy.deepcopy`.

    `copy.deepcopy` took a third of the time of rating a freshly deserialised contract.
    """
    kind = type(value)
    if kind is dict:
        mapping = dict(value)
        for key, item in mapping.items():
            if type(item) not in _ATOMIC:
                mapping[key] = _snapshot(item)
        return mapping
    if kind is list:
        items = list(value)
        for index, item in enumerate(items):
            if type(item) not in _ATOMIC:
                items[index] = _snapshot(item)
        return items
    if kind in _ATOMIC:
        return value
    return copy.deepcopy(value)


def _parse(charge: Charge, path: str) -> PricedCharge:
    model = charge.charge_model
    if charge.kind != "usage" and model != "standard":
        raise RatingError(
            f"{path}.charge_model",
            f"a {charge.kind} fee is a flat amount: use 'standard' with an `amount`, not {model!r}",
        )
    schema = _PROPERTIES.get(model)
    if schema is None:
        known = ", ".join(_PROPERTIES)
        raise RatingError(f"{path}.charge_model", f"unknown charge model {model!r} ({known})")
    try:
        props = schema.model_validate(charge.properties)
    except ValidationError as error:
        raise from_validation_error(f"{path}.properties", error) from None
    ranges_path = f"{path}.properties"
    if isinstance(props, GraduatedProperties):
        tiers = build_tiers(props.graduated_ranges, f"{ranges_path}.graduated_ranges")
        return PricedCharge(charge=charge, path=path, properties=props, price_tiers=tiers)
    if isinstance(props, VolumeProperties):
        tiers = build_tiers(props.volume_ranges, f"{ranges_path}.volume_ranges")
        return PricedCharge(charge=charge, path=path, properties=props, price_tiers=tiers)
    if isinstance(props, GraduatedPercentageProperties):
        ptiers = build_tiers(
            props.graduated_percentage_ranges, f"{ranges_path}.graduated_percentage_ranges"
        )
        return PricedCharge(charge=charge, path=path, properties=props, percentage_tiers=ptiers)
    if isinstance(props, PercentageProperties):
        low, high = props.per_transaction_min_amount, props.per_transaction_max_amount
        if low is not None and high is not None and low > high:
            raise RatingError(
                f"{ranges_path}.per_transaction_max_amount",
                f"{high} is below per_transaction_min_amount {low}",
            )
    return PricedCharge(charge=charge, path=path, properties=props)
