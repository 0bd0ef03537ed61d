"""Revenue recognition: schedules per invoice line, the deferral journal of a document, the
monthly recognition entry and the deferred-revenue waterfall (docs/revenue.md)."""

from billing.revenue.journal import (
    DEFERRED_REVENUE,
    deferral_journal,
    recognition_journal,
    split_deferred,
)
from billing.revenue.schedule import (
    DEFAULT_METHOD,
    RevenueError,
    line_schedule,
    method_for,
    revenue_schedule,
    terminate,
)
from billing.revenue.waterfall import Movement, WaterfallRow, waterfall

__all__ = [
    "DEFAULT_METHOD",
    "DEFERRED_REVENUE",
    "Movement",
    "RevenueError",
    "WaterfallRow",
    "deferral_journal",
    "line_schedule",
    "method_for",
    "recognition_journal",
    "revenue_schedule",
    "split_deferred",
    "terminate",
    "waterfall",
]
