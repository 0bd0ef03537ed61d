"""Event intake: validate an event, derive the workflow id, start the run."""
