"""Benchmarks, one module a part; each reports ratios to a same-run baseline."""
