"""Processes: the worker, settings, the Temporal client, the dev stack and the q2c CLI."""
