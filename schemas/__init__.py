"""Canonical pydantic models shared by every q2c package."""
