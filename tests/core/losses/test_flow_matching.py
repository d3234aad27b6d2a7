"""Flow matching with history frames excluded (SPEC §3.4)."""
from __future__ import annotations

import math

import torch
from choreograph.core.losses import flow_matching as fm


def test_resolution_shift_endpoints_and_monotone_noise():
    assert math.isclose(fm.resolution_shift(256), 0.5)
    assert math.isclose(fm.resolution_shift(4096), 1.15)
    sigma = torch.tensor([0.5])
    assert math.isclose(float(fm.shift_sigma(sigma, 256)), math.exp(0.5) / (math.exp(0.5) + 1), rel_tol=1e-6)
    g = torch.Generator().manual_seed(0)
    small, large = fm.sample_sigma(4000, 256, g), fm.sample_sigma(4000, 4096, g)
    assert 0 < float(small.min()) and float(large.max()) < 1
    assert float(large.mean()) > float(small.mean())  # more tokens per frame → more noise


def test_noisy_latent_endpoints_and_target():
    x0, eps = torch.randn(2, 16, 3, 4, 4), torch.randn(2, 16, 3, 4, 4)
    assert torch.equal(fm.noisy_latent(x0, eps, torch.zeros(2)), x0)
    assert torch.allclose(fm.noisy_latent(x0, eps, torch.ones(2)), eps)
    x_t = fm.noisy_latent(x0, eps, torch.tensor([0.3, 0.7]))
    # integrating the true velocity from σ back to 0 recovers x0
    assert torch.allclose(x_t[1] - 0.7 * fm.velocity_target(x0, eps)[1], x0[1], atol=1e-6)


def test_history_frames_are_clean_and_excluded_from_the_loss():
    x0, eps = torch.randn(1, 16, 4, 2, 2), torch.randn(1, 16, 4, 2, 2)
    x_t = fm.with_history(fm.noisy_latent(x0, eps, torch.tensor([0.9])), x0, 2)
    assert torch.equal(x_t[:, :, :2], x0[:, :, :2]) and not torch.equal(x_t[:, :, 2:], x0[:, :, 2:])
    target = fm.velocity_target(x0, eps)
    prediction = target.clone()
    prediction[:, :, :2] += 5.0  # wrong only on history frames
    assert float(fm.flow_matching_loss(prediction, target, history_frames=2)) == 0.0
    assert float(fm.flow_matching_loss(prediction, target, history_frames=0)) > 0
    prediction = target + 1.0  # error 1 everywhere: normalised by all elements, history included
    assert math.isclose(float(fm.flow_matching_loss(prediction, target, history_frames=2)), 0.5, rel_tol=1e-6)


def test_excluded_regions_do_not_count():
    target = torch.zeros(1, 16, 2, 2, 2)
    prediction = torch.zeros_like(target)
    prediction[..., 0, 0] = 3.0
    exclude = torch.zeros(1, 1, 2, 2, 2)
    exclude[..., 0, 0] = 1
    assert float(fm.flow_matching_loss(prediction, target, exclude=exclude)) == 0.0


def test_history_frame_count_probabilities():
    g = torch.Generator().manual_seed(1)
    counts = [fm.history_frame_count(g, True, 5) for _ in range(2000)]
    assert set(counts) == {0, 2} and 0.45 < counts.count(2) / 2000 < 0.55
    rare = [fm.history_frame_count(g, False, 5) for _ in range(2000)]
    assert 0.11 < rare.count(2) / 2000 < 0.19
    assert fm.history_frame_count(g, True, 2) == 0  # nothing would be left to denoise
