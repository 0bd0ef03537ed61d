"""Tax: a `TaxEngine` turns an untaxed invoice into tax lines that explain themselves."""

from billing.tax.engine import Seller, TaxEngine, TaxError, TaxResult, apply_tax
from billing.tax.rule_engine import RuleTableEngine


def default_engine() -> RuleTableEngine:
    """The built-in rule-table engine over the packaged rules.csv (read on first use)."""
    return RuleTableEngine()


__all__ = [
    "RuleTableEngine",
    "Seller",
    "TaxEngine",
    "TaxError",
    "TaxResult",
    "apply_tax",
    "default_engine",
]
