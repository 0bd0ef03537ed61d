"""Tier boundaries, shared by `graduated`, `volume` and `graduated_percentage`.

Convention (Lago's): units are numbered from 1 and a tier `from_value..to_value` includes
both ends, so tiers read 0–5, 6–10, 11–∞ (`from_value` = previous `to_value` + 1). A tier may
also start at the previous `to_value` (0–5, 5–10, 10–∞, as Stripe's `up_to` reads): both
describe the same split, because the previous tier already holds unit `to_value`. The first
tier starts at 0 or 1, only the last is open (`to_value` null), and any other gap, overlap or
order is refused. Internally tier *i* holds the quantity in (previous `to_value`, `to_value`],
so fractional quantities (GB, hours) split between tiers without losing a fraction.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, Protocol, TypeVar

from billing.rating_error import RatingError

_ZERO = Decimal(0)


class RangeBounds(Protocol):
    @property
    def from_value(self) -> int: ...
    @property
    def to_value(self) -> int | None: ...


R = TypeVar("R", bound=RangeBounds)


@dataclass(frozen=True, slots=True)
class Tier(Generic[R]):
    index: int
    lower: Decimal
    upper: Decimal | None
    range: R
    label: str
    """"tier 2 (6–10)", for the rule of a line."""

    def units_of(self, quantity: Decimal) -> Decimal:
        """How much of `quantity` falls inside this tier."""
        # Comparisons rather than min() and max(): the same result, and this runs per tier.
        upper = self.upper
        top = quantity if upper is None or quantity <= upper else upper
        units = top - self.lower
        return units if units > _ZERO else _ZERO

    def contains(self, quantity: Decimal) -> bool:
        return quantity > self.lower and (self.upper is None or quantity <= self.upper)


def build_tiers(ranges: Sequence[R], path: str) -> list[Tier[R]]:
    """Check the ranges are ordered, contiguous and open-ended; name the first bad field."""
    tiers: list[Tier[R]] = []
    previous_to = 0
    last = len(ranges) - 1
    for index, item in enumerate(ranges):
        here = f"{path}.{index}"
        if index == 0:
            if item.from_value not in (0, 1):
                raise RatingError(f"{here}.from_value", "the first tier must start at 0 (or 1)")
        elif item.from_value < previous_to:
            raise RatingError(
                f"{here}.from_value",
                f"{item.from_value} overlaps the previous tier, which ends at {previous_to} "
                "(tiers must be in ascending order)",
            )
        elif item.from_value > previous_to + 1:
            raise RatingError(
                f"{here}.from_value",
                f"{item.from_value} leaves a gap after the previous tier, which ends at "
                f"{previous_to} (start at {previous_to + 1})",
            )
        if item.to_value is None:
            if index != last:
                raise RatingError(f"{here}.to_value", "only the last tier may be open (null)")
        else:
            if index == last:
                raise RatingError(
                    f"{here}.to_value", "the last tier must be open-ended (to_value null)"
                )
            if item.to_value < max(item.from_value, 1) or item.to_value <= previous_to:
                raise RatingError(
                    f"{here}.to_value",
                    f"{item.to_value} ends before the tier starts ({item.from_value})",
                )
        lower = Decimal(previous_to)
        upper = None if item.to_value is None else Decimal(item.to_value)
        shown_upper = "∞" if item.to_value is None else str(item.to_value)
        label = f"tier {index + 1} ({item.from_value}–{shown_upper})"
        tiers.append(Tier(index=index, lower=lower, upper=upper, range=item, label=label))
        previous_to = item.to_value if item.to_value is not None else previous_to
    return tiers
