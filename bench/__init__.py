"""Benchmark tools for Accord: the synthetic multi-source dataset generator."""
