"""Charges: parse a charge's `properties` once per model, then rate quantities with it."""

from billing.charges.priced import PricedCharge, price_charge
from billing.charges.rated import Rated

__all__ = ["PricedCharge", "Rated", "price_charge"]
