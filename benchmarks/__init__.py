"""Benchmarks: modules that print measurements (never pass/fail timing assertions). Run one with
``python -m choreograph.benchmarks.<name>``; every timing goes through ``timing.py`` (CPU and wall time, one
thread, repeats with spread, interleaved baselines, verdicts only when the spread allows). ``core/`` imports
nothing from here."""
