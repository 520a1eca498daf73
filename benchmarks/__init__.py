"""Benchmarks of the expedition bot: response latency, event-loop lag, sync, fan-out and memory.

Run one with `python -m benchmarks.<name> [--size N] [--runs K]`, or all of them with
`python -m benchmarks.run_all`. docs/benchmarks.md describes the targets and the results.
"""
