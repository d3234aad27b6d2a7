"""SVD/EDM sampling: anchored tiles, their weights, frame-ramped guidance, SVD conditioning and the loop."""
from __future__ import annotations

import math

import pytest
import torch

from choreograph.core.sampling.edm import SvdSettings, euler_edm_solver, frame_ramped, sample_svd, svd_noise
from choreograph.core.sampling.tiles import blend_tiles, plan_tiles, tile_weights


def test_tiles_follow_stableanimator_and_keep_frame_zero():
    assert plan_tiles(10) == [tuple(range(10))]
    assert plan_tiles(16) == [tuple(range(16))]
    tiles = plan_tiles(30)
    assert tiles[0] == tuple(range(16))
    assert tiles[1] == (0, *range(13, 28))
    assert tiles[-1] == (0, *range(15, 30))  # the tail tile
    assert all(t[0] == 0 and len(t) == 16 for t in tiles)
    assert set().union(*tiles) == set(range(30))
    assert plan_tiles(28) == [tuple(range(16)), (0, *range(13, 28))]  # no tail tile needed


def test_weights_are_triangular():
    w = tile_weights(16)
    assert w[0] == pytest.approx(1 / 16) and w[7] == pytest.approx(15 / 16) and w[8] == pytest.approx(15 / 16)
    assert torch.allclose(w, w.flip(0))


def test_blending_a_per_frame_function_is_exact():
    """Where every tile agrees on a frame, the weighted average is that value (weights are normalised)."""
    target = torch.randn(2, 40, 3)
    out = blend_tiles(lambda idx: target[:, list(idx)], 40, tile=8, overlap=2)
    assert torch.allclose(out, target, atol=1e-6)


def test_frame_ramped_guidance_mixes_per_frame():
    cond, uncond = torch.ones(1, 4, 2), torch.zeros(1, 4, 2)

    def predict(sample, t, positive):
        return cond if positive else uncond

    out = frame_ramped(predict, torch.linspace(1.0, 3.0, 4))(cond, torch.zeros(1), True)
    assert torch.allclose(out[0, :, 0], torch.linspace(1.0, 3.0, 4))
    calls = []
    frame_ramped(lambda s, t, p: calls.append(p) or cond, torch.ones(4))(cond, torch.zeros(1), True)
    assert calls == [True]  # scale 1 everywhere: no unconditional pass


def test_settings_time_ids_and_schedule():
    settings = SvdSettings()
    assert settings.time_ids().tolist() == [[6.0, 127.0, pytest.approx(0.02)]]  # SVD conditions on fps − 1
    solver = euler_edm_solver(25)
    sigmas = solver.scheduler.sigmas
    assert len(solver.timesteps) == 25 and sigmas[0] == pytest.approx(700.0, rel=1e-3)
    assert float(solver.timesteps[0]) == pytest.approx(0.25 * math.log(700.0), rel=1e-3)
    with pytest.raises(ValueError):
        SvdSettings(min_guidance=0.5)


def test_noise_repeats_one_tile():
    noise = svd_noise((1, 10, 4, 2, 2), seed=3, tile=4)
    assert torch.equal(noise[:, 4:8], noise[:, :4]) and torch.equal(noise[:, 8:], noise[:, :2])
    assert torch.equal(svd_noise((1, 3, 4, 2, 2), 3, 16), svd_noise((1, 3, 4, 2, 2), 3, 16))


class Recorder:
    """A toy v-prediction network that records what each branch receives."""

    def __init__(self):
        self.seen = []

    def __call__(self, x, timestep, frames, positive):
        self.seen.append((positive, tuple(frames), x[:, :, 4:].abs().sum().item()))
        return x[:, :, :4] * 0.5 + (0.1 if positive else 0.0)


def test_sampler_passes_reference_only_to_the_positive_branch_and_tiles_long_videos():
    net = Recorder()
    reference = torch.ones(1, 4, 2, 2)
    out = sample_svd(net, reference, 20, SvdSettings(steps=2, tile=8, overlap=2))
    assert out.shape == (1, 20, 4, 2, 2) and torch.isfinite(out).all()
    assert all((ref > 0) == positive for positive, _, ref in net.seen)
    assert {frames for _, frames, _ in net.seen} == set(plan_tiles(20, 8, 2))


def test_tiled_path_equals_one_call_when_the_clip_fits():
    """The tile machinery (weights, normalisation) is exact when the whole clip is one tile."""
    reference = torch.randn(1, 4, 2, 2, generator=torch.Generator().manual_seed(1))
    settings = SvdSettings(steps=3, min_guidance=1.0, max_guidance=2.5)
    tiled = sample_svd(Recorder(), reference, 6, settings)

    def whole(x, t, frames, positive):
        assert frames == tuple(range(6))
        return Recorder()(x, t, frames, positive)

    fits = sample_svd(whole, reference, 6, SvdSettings(steps=3, min_guidance=1.0, max_guidance=2.5, tile=6))
    assert torch.allclose(tiled, fits, atol=1e-6)
