"""The GPU check is ready: its CPU dry run at tiny shapes fills every section, and its sizes are the real ones."""
from __future__ import annotations

import json

import pytest
from choreograph.benchmarks.flops import BlockShape, device_peak_tflops
from choreograph.benchmarks.gpu_check import REAL, TINY, main, run_check


def test_real_shapes_are_the_14b_scail2_sequence():
    assert (REAL.dim, REAL.heads, REAL.frames, REAL.height, REAL.width) == (5120, 40, 81, 480, 832)
    assert REAL.latent == (21, 60, 104)
    assert REAL.tokens == 1560 + 21 * 1560 + 21 * 390  # reference + video + half-resolution driving
    assert REAL.arch().num_heads == 40
    flops = REAL.block().total()
    assert 55e12 < flops < 70e12  # ~63 TFLOP per block per forward, attention the largest part
    parts = REAL.block().flops()
    assert max(parts, key=parts.get) == "self-attention"


def test_block_flops_count_every_matmul():
    shape = BlockShape(tokens=10, context_text=3, context_image=2, dim=4, ffn=8)
    # self projections 4·2·10·16, self attention 4·100·4, cross q/out 2·2·10·16 + k/v 2·2·5·16,
    # cross attention 4·10·5·4, feed-forward 2·2·10·4·8
    assert shape.total() == 1280 + 1600 + 640 + 320 + 800 + 1280


def test_device_peaks():
    assert device_peak_tflops("NVIDIA H100 80GB HBM3") == 989.4
    assert device_peak_tflops("NVIDIA H100 PCIe") == 756.0
    assert device_peak_tflops("NVIDIA A100-SXM4-80GB") == 312.0
    assert device_peak_tflops("NVIDIA A10G") is None and device_peak_tflops("Some Future GPU") is None


def test_cpu_dry_run_fills_every_section(tmp_path, capsys):
    out = tmp_path / "report.json"
    assert main(["--tiny", "--device", "cpu", "--repeats", "2", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["tokens"] == TINY.tokens == 56
    forward = report["forward"]
    assert forward["block"]["median_s"] > 0 and forward["block_rate"]["tflops"] > 0
    assert forward["block_rate"]["mfu"] is None  # no peak for a CPU
    assert any("scaled_dot_product" in op for op in report["attention_kernel"]["sdpa_operators"])
    backends = report["sdpa_backends"]["backends"]
    assert "median_s" in backends["torch's choice (ours)"] and "median_s" in backends["math"]
    assert "unavailable" in backends["cudnn"]  # a CPU has no cuDNN attention: said, not crashed
    assert report["sdpa_backends"]["fastest"] in backends
    assert report["fp8"]["block_gib"]["fp8"] < report["fp8"]["block_gib"]["bf16"]
    assert "skipped" in report["fp8"]["native_fp8_matmul"] and "skipped" in report["torch_compile"]
    assert report["block_swap"]["swapped"]["median_s"] > 0
    assert "attention ran" in capsys.readouterr().out


def test_sections_over_the_budget_are_skipped_not_run():
    report = run_check(TINY, "cpu", __import__("torch").float32, repeats=1, budget_s=0.0)
    assert all("skipped" in report[name] for name in ("forward", "sdpa_backends", "fp8", "block_swap"))


@pytest.mark.slow
def test_cpu_dry_run_with_torch_compile():
    report = run_check(TINY, "cpu", __import__("torch").float32, repeats=2, compile_block=True)
    assert report["torch_compile"].get("speedup", 0) > 0, report["torch_compile"]
