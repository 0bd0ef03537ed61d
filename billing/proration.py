"""Day-based proration.

Convention: actual days over actual days. A fee for a period is multiplied by
`days in the segment / days in the period`, both counted half-open (`(end - start).days`),
so a 31-day month prorates by 31sts, February by 28ths or 29ths, a leap-year annual period
by 366ths. A change on day D belongs to the new terms: the old terms cover
`[period start, D)` and the new ones `[D, period end)`. The whole period is the full fee
exactly (no division); any other segment keeps its unrounded figure, and its line rounds it
half-up, so adjacent segments add up to the full fee within one minor unit each.
Rules write amounts with `!s` (as `billing.charges.models`).
"""

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from billing.periods import Period


@dataclass(slots=True)
class Prorated:
    amount: Decimal
    """Unrounded."""
    rule: str


def prorate(fee: Decimal, *, segment: Period, period: Period) -> Prorated:
    """`fee` for `segment`, a part of `period`."""
    if segment == period:
        return Prorated(amount=fee, rule=f"{fee!s} for the full period {_span(period)}")
    amount = fee * segment.days / period.days
    return Prorated(
        amount=amount,
        rule=(
            f"{fee!s} × {segment.days}/{period.days} days ({_span(segment)} of {_span(period)}, "
            "actual/actual)"
        ),
    )


@lru_cache(maxsize=4096)
def _span(period: Period) -> str:
    # Every run of a contract names the same few periods.
    return f"{period.start.isoformat()}..{period.end.isoformat()}"
