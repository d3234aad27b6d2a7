"""Flow-matching schedules and solvers, guidance and the shared denoising loop."""
from __future__ import annotations

import pytest
import torch
from choreograph.core.sampling.loop import clean_history, denoise, guided, seeded_noise
from choreograph.core.sampling.solvers import FlowEuler, FlowSettings, flow_sigmas, make_flow_solver


def test_wan_shifted_sigmas():
    assert torch.allclose(flow_sigmas(4, 1.0), torch.tensor([1.0, 0.75, 0.5, 0.25, 0.0]))
    sigmas = flow_sigmas(4, 5.0)
    s = torch.tensor([1.0, 0.75, 0.5, 0.25, 0.0])
    assert torch.allclose(sigmas, 5 * s / (1 + 4 * s))
    assert sigmas[1] == pytest.approx(15 / 16)  # shift pushes steps towards high noise


@pytest.mark.parametrize("solver", ["euler", "unipc"])
def test_exact_velocity_lands_on_the_clean_sample(solver):
    target = torch.randn(1, 4, 2, 3, 3, generator=torch.Generator().manual_seed(0))
    noise = seeded_noise(target.shape, seed=7)
    velocity = noise - target  # the rectified-flow target ε − x0 is constant along the straight path

    def predict(sample, timestep, positive):
        return velocity

    result = denoise(predict, noise, make_flow_solver(solver, 6, 3.0), guidance=1.0)
    assert torch.allclose(result, target, atol=1e-4)


def test_unipc_timesteps_are_wan_sigmas_times_1000():
    solver = make_flow_solver("unipc", 5, 5.0)
    expected = flow_sigmas(5, 5.0)[:-1] * 1000
    assert float((solver.timesteps - expected).abs().max()) <= 1.0  # integer timesteps, as Wan's FlowUniPC
    assert torch.allclose(FlowEuler(5, 5.0).timesteps, flow_sigmas(5, 5.0)[:-1] * 1000)


def test_guidance_combines_branches_and_skips_uncond_at_scale_one():
    calls = []

    def predict(sample, timestep, positive):
        calls.append(positive)
        return torch.full_like(sample, 3.0 if positive else 1.0)

    x = torch.zeros(2)
    assert torch.allclose(guided(predict, x, torch.zeros(1), 5.0), torch.full((2,), 1 + 5 * 2.0))
    calls.clear()
    guided(predict, x, torch.zeros(1), 1.0)
    assert calls == [True]


def test_clean_history_is_kept_every_step_and_progress_reported():
    history = torch.ones(1, 4, 2, 2, 2)
    seen = []

    def predict(sample, timestep, positive):
        assert torch.equal(sample[:, :, :2], history)  # the network always sees the clean history
        return torch.randn_like(sample)

    out = denoise(predict, seeded_noise((1, 4, 5, 2, 2), 1), FlowEuler(3, 5.0), 2.0, clean_history(history),
                  lambda done, total: seen.append((done, total)))
    assert torch.equal(out[:, :, :2], history)
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_settings_validate_and_noise_is_seeded():
    with pytest.raises(ValueError, match="solver"):
        FlowSettings(solver="ddpm")
    assert torch.equal(seeded_noise((3, 3), 5), seeded_noise((3, 3), 5))
    assert not torch.equal(seeded_noise((3, 3), 5), seeded_noise((3, 3), 6))
