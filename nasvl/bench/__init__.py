"""Benchmarks: each prints figures and writes JSON; figures go to BENCHMARKS.md."""
