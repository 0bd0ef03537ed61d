"""What a charge model returns: the unrounded amount and the rule a person can read."""

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Rated:
    amount: Decimal
    """Unrounded; the invoice line rounds it half-up to the minor unit."""
    rule: str
    unit_amount: Decimal | None = None
