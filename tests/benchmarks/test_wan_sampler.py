"""The sampler benchmark measures what it claims: equal forward-call counts, interleaved repeats, honest verdicts."""
from __future__ import annotations

from choreograph.benchmarks.wan_sampler import BenchConfig, forward_calls, main, sampler_overhead


def test_overhead_compares_equal_numbers_of_forwards(capsys):
    cfg = BenchConfig(dim=128, layers=1, height=32, width=32, steps=2, guidance=3.0, solver="euler")
    assert forward_calls(cfg) == 4  # 2 steps × (cond + uncond)
    result = sampler_overhead(cfg, latent_frames=2, repeats=3)
    assert result.baseline.repeats == result.candidate.repeats == 3
    assert all(s > 0 for s in result.baseline.cpu + result.candidate.cpu)
    assert min(result.ratios) <= result.ratio <= max(result.ratios)
    assert main(["--dim", "128", "--layers", "1", "--size", "32", "32", "--steps", "1", "--solver", "euler",
                 "--repeats", "1", "--skip-memory"]) == 0
    out = capsys.readouterr().out
    assert "cpu" in out and "wall" in out and "no verdict" in out  # one repeat never allows a verdict


def test_conditioning_gain_compares_the_two_sampler_paths():
    from choreograph.benchmarks.wan_sampler import DEMO, conditioning_gain

    result = conditioning_gain(DEMO, latent_frames=2, repeats=1)
    assert result.baseline.label == "embedded every call" and result.candidate.label == "embedded once"
    assert result.ratio > 0 and result.verdict(1.0) == "no verdict"  # one repeat never earns a verdict
