"""The production worker process: worker, settings, the Temporal client, telemetry, audit."""
