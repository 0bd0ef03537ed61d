"""Time-weighted sums, as Lago computes them for seats or stored gigabytes.

Each event's value is a change to a level (+10 GB, -5 GB). The level held over each stretch
of the period counts for the share of the period that stretch lasts:
sum(level x duration) / period duration.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

_TICK = timedelta(microseconds=1)


def weighted_sum(
    *,
    initial: Decimal,
    changes: Iterable[tuple[datetime, Decimal]],
    start: datetime,
    end: datetime,
) -> Decimal:
    """The level starts at `initial` at `start`; `changes` are in time order within [start, end)."""
    if end <= start:
        raise ValueError("end must be after start")
    level = initial
    cursor = start
    weighted = Decimal(0)
    for moment, change in changes:
        if not start <= moment < end:
            raise ValueError(f"change at {moment.isoformat()} is outside the period")
        if moment < cursor:
            raise ValueError("changes must be in time order")
        # Whole microseconds keep the products exact; one division at the end.
        weighted += level * ((moment - cursor) // _TICK)
        level += change
        cursor = moment
    weighted += level * ((end - cursor) // _TICK)
    return weighted / ((end - start) // _TICK)
