"""What an operator runs against a real cluster: the report, replay, the approvers' queue."""
