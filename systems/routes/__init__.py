"""HTTP routes, one module per system."""
