"""Data access, one module per system; every function takes keyword arguments only."""
