"""Tax: a `TaxEngine` turns an untaxed invoice into tax lines that explain themselves."""

from billing.tax.engine import Seller, TaxEngine, TaxError, TaxResult, apply_tax

__all__ = ["Seller", "TaxEngine", "TaxError", "TaxResult", "apply_tax"]
