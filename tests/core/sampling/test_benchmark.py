"""The sampler benchmark measures what it claims: equal forward-call counts, positive times."""
from __future__ import annotations

from choreograph.core.sampling.benchmark import BenchConfig, sampler_overhead


def test_overhead_compares_equal_numbers_of_forwards():
    result = sampler_overhead(BenchConfig(dim=128, layers=1, height=32, width=32, steps=2, guidance=3.0,
                                          solver="euler"), latent_frames=2, repeats=1)
    assert result["forward_calls"] == 4  # 2 steps × (cond + uncond)
    assert result["bare"] > 0 and result["sampler"] > 0
    assert result["overhead"] == result["sampler"] / result["bare"] - 1.0
