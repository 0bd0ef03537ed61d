"""The HTTP intake: signed events in, runs started or payments recorded, nothing lost."""
