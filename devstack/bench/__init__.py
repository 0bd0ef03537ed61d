"""Benchmarks (`q2c bench`): the month-end burst against the ceiling, rating on one core,
and many runs awaiting approval on one worker."""
