"""Business rules, pure and synchronous: rating, proration, rounding, tax, routing."""
