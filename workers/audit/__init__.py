"""The audit trail: every handoff of every run, in q2c's own database."""
