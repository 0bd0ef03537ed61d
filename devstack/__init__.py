"""The embedded dev stack and what runs on it: demo, chaos, recorded histories, benchmarks."""
