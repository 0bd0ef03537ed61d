"""Orchestration only: deterministic, no I/O."""
