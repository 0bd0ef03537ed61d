"""What a charge model returns: the unrounded amount and the rule a person can read."""

from dataclasses import dataclass
from decimal import Decimal


# Not frozen: a frozen dataclass costs three times as much to build, and rating builds
# several per line.
@dataclass(slots=True)
class Rated:
    amount: Decimal
    """Unrounded; the invoice line rounds it half-up to the minor unit."""
    rule: str
    unit_amount: Decimal | None = None
