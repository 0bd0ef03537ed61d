"""The q2c report: figures computed from the audit trail, rendered as a table, JSON or HTML."""
