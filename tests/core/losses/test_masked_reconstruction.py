"""DanceTogether masked EDM reconstruction (SPEC §2.4)."""
from __future__ import annotations

import math

import pytest
import torch
from choreograph.core.losses import masked_reconstruction as mr


def test_sigma_sampler_spans_the_range_and_is_seeded():
    sigma = mr.sample_edm_sigma(20000, torch.Generator().manual_seed(0))
    assert float(sigma.min()) >= mr.SIGMA_MIN and float(sigma.max()) <= mr.SIGMA_MAX
    assert float(sigma.min()) < 0.01 and float(sigma.max()) > 100  # both ends are reached
    assert 0.1 < float(sigma.median()) < 10  # most mass at moderate noise
    again = mr.sample_edm_sigma(20000, torch.Generator().manual_seed(0))
    assert torch.equal(sigma, again)


def test_preconditioning_reconstructs_the_clean_latent():
    z0, eps = torch.randn(2, 3, 4, 4, 4), torch.randn(2, 3, 4, 4, 4)
    sigma = torch.tensor([0.1, 20.0])
    noisy = z0 + sigma.reshape(-1, 1, 1, 1, 1) * eps
    s = mr.edm_scaling(sigma)
    ideal = (z0 - s.c_skip.reshape(-1, 1, 1, 1, 1) * noisy) / s.c_out.reshape(-1, 1, 1, 1, 1)
    assert torch.allclose(mr.denoised(ideal, noisy, sigma), z0, atol=1e-4)
    assert torch.allclose(s.c_noise, 0.25 * sigma.log())
    assert math.isclose(float(s.c_in[0]), 1 / math.sqrt(1.01), rel_tol=1e-6)


def test_weight_map_body_one_face_two_summed_over_people():
    body = torch.zeros(1, 1, 2, 8, 8, dtype=torch.bool)
    face = torch.zeros_like(body)
    body[0, 0, 0, :, :4] = True
    body[0, 0, 1, :, 2:6] = True
    face[0, 0, 0, :2, :2] = True
    weight = mr.person_weight_map(body, face, (8, 8))[0, 0, 0]
    assert weight.shape == (8, 8)
    assert float(weight[5, 7]) == 1  # background
    assert float(weight[5, 0]) == 2  # body of person 0
    assert float(weight[5, 3]) == 3  # both bodies overlap
    assert float(weight[0, 0]) == 4  # face of person 0: 1 + body 1 + face 2
    with pytest.raises(ValueError):
        mr.person_weight_map(body, face[:, :, :1], (8, 8))


def test_loss_weights_people_and_noise_level():
    clean = torch.zeros(1, 2, 4, 2, 2)
    error = torch.ones_like(clean)
    sigma = torch.tensor([1.0])  # λ = 2
    plain = mr.masked_reconstruction_loss(error, clean, sigma, torch.ones(1, 2, 1, 2, 2))
    assert math.isclose(float(plain), 2.0, rel_tol=1e-6)
    weight = torch.ones(1, 2, 1, 2, 2)
    weight[..., 0, 0] = 4  # a face pixel: error counted 4× (not 16×: the weight is not squared)
    assert math.isclose(float(mr.masked_reconstruction_loss(error, clean, sigma, weight)), 2 * 7 / 4, rel_tol=1e-6)
