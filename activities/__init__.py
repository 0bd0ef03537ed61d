"""The transport: one class per system, built with an injected client."""
