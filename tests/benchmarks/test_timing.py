"""The shared timing method: per-repeat CPU and wall time, spread, interleaving, and verdicts only when earned."""
from __future__ import annotations

import numpy as np
import pytest
from choreograph.benchmarks.timing import CPU, Comparison, Samples, compare, measure, one_thread, traced_peak


def _busy(n: int) -> None:
    total = 0
    for i in range(n):
        total += i * i


def test_measure_records_cpu_and_wall_per_repeat():
    assert one_thread() == 1
    samples = measure("loop", lambda: _busy(20000), repeats=4)
    assert samples.repeats == 4 and samples.threads == 1
    low, mid, high = samples.stats(CPU)
    assert 0 < low <= mid <= high
    assert samples.spread() == pytest.approx((high - low) / mid)
    line = samples.line(100)
    assert all(word in line for word in ("cpu", "wall", "spread", "4x", "1 thread"))


def test_compare_interleaves_and_sees_a_doubled_workload():
    order = []
    result = compare(("one", lambda: (order.append("b"), _busy(30000))),
                     ("two", lambda: (order.append("c"), _busy(60000))), repeats=4, warmup=1)
    assert order == ["b", "c", "b", "c", "c", "b", "b", "c", "c", "b"]  # warm-up, then alternating leads
    assert 1.3 < result.ratio < 3.5
    assert result.verdict(1.05) in ("misses", "no verdict")
    assert "x on cpu time" in result.report("two / one", 1.05)


def _samples(values: tuple[float, ...]) -> Samples:
    return Samples("x", values, values, 1)


def test_a_verdict_needs_every_repeat_on_one_side():
    base = _samples((1.0, 1.0, 1.0))
    assert Comparison(base, _samples((1.01, 1.02, 1.03))).verdict(1.05) == "meets"
    assert Comparison(base, _samples((1.2, 1.3, 1.25))).verdict(1.05) == "misses"
    assert Comparison(base, _samples((1.01, 1.3, 1.02))).verdict(1.05) == "no verdict"
    assert Comparison(_samples((1.0, 1.0)), _samples((1.0, 1.0))).verdict(1.05) == "no verdict"  # too few


def test_traced_peak_sees_numpy_arrays():
    peak, result = traced_peak(lambda: np.ones((1000, 1000), dtype=np.uint8).sum())
    assert 1_000_000 <= peak < 1_200_000 and result == 1_000_000


def test_fresh_processes_measure_with_a_steady_allocator():
    import os

    from choreograph.benchmarks.timing import STEADY_MALLOC, in_fresh_process

    before = os.environ.get("MALLOC_MMAP_THRESHOLD_")
    assert in_fresh_process(os.getenv, "MALLOC_MMAP_THRESHOLD_") == STEADY_MALLOC["MALLOC_MMAP_THRESHOLD_"]
    assert os.environ.get("MALLOC_MMAP_THRESHOLD_") == before  # the parent's environment is left as it was
