"""AnimateAnyone v-prediction with zero-terminal SNR and min-SNR weights (SPEC §1.4)."""
from __future__ import annotations

import math

import torch
from choreograph.core.losses import v_prediction as vp


def test_schedule_ends_at_zero_snr_and_matches_the_sampler():
    abar = vp.zero_snr_alphas_cumprod()
    assert abar.shape == (1000,) and float(abar[-1]) == 0.0
    assert bool((abar[1:] <= abar[:-1]).all()) and 0.99 < float(abar[0]) < 1.0


def test_v_target_recovers_clean_latent_and_noise():
    abar = vp.zero_snr_alphas_cumprod()
    x0, eps = torch.randn(2, 4, 1, 3, 3), torch.randn(2, 4, 1, 3, 3)
    t = torch.tensor([10, 700])
    x_t, v = vp.noisy_and_target(x0, eps, abar, t)
    alpha = abar[t].sqrt().float().reshape(-1, 1, 1, 1, 1)
    sigma = (1 - abar[t]).sqrt().float().reshape(-1, 1, 1, 1, 1)
    assert torch.allclose(alpha * x_t - sigma * v, x0, atol=1e-5)  # x0 = α x_t − σ v
    assert torch.allclose(sigma * x_t + alpha * v, eps, atol=1e-5)
    x_end, v_end = vp.noisy_and_target(x0, eps, abar, torch.tensor([999, 999]))
    assert torch.allclose(x_end, eps) and torch.allclose(v_end, -x0)  # pure noise at the last step


def test_min_snr_weight_caps_easy_steps():
    prediction, target = torch.ones(2, 4), torch.zeros(2, 4)
    loss = vp.v_prediction_loss(prediction, target, torch.tensor([0.0, 99.0]))
    assert math.isclose(float(loss), (1.0 + 5 / 100) / 2, rel_tol=1e-6)


def test_offset_noise_shares_a_constant_per_channel():
    g = torch.Generator().manual_seed(0)
    noise = vp.offset_noise((64, 4, 1, 16, 16), g, offset=1.0)
    per_channel = noise.mean(dim=(2, 3, 4))
    assert float(per_channel.std()) > 0.8  # the offset dominates channel means (std ≈ 1 vs 1/16)
