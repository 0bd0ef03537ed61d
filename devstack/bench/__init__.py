"""`q2c bench burst`: the month-end close measured against what the Temporal server can do."""
