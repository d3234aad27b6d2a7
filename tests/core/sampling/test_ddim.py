"""DDIM with AnimateAnyone's zero-terminal-SNR v-prediction schedule (SPEC §1.7)."""
from __future__ import annotations

import pytest
import torch
from choreograph.core.sampling.ddim import DdimSettings, ddim_v_solver
from choreograph.core.sampling.loop import denoise, seeded_noise


def test_schedule_starts_from_pure_noise_at_the_last_timestep():
    solver = ddim_v_solver(30)
    alphas = solver.scheduler.alphas_cumprod
    assert alphas[-1].item() == pytest.approx(0.0, abs=1e-12)  # zero terminal SNR
    assert solver.timesteps[0].item() == 999  # trailing spacing starts at the last training step
    assert solver.timesteps[-1].item() == round(1000 / 30) - 1  # trailing: round(1000 - k·1000/30) - 1
    assert len(solver.timesteps) == 30 and torch.all(solver.timesteps[:-1] > solver.timesteps[1:])


def _true_velocity(x0: torch.Tensor, alphas: torch.Tensor):
    """A perfect v-prediction network for a single known clean sample ``x0``."""

    def predict(sample: torch.Tensor, timestep: torch.Tensor, positive: bool) -> torch.Tensor:
        a = alphas[int(timestep[0])]
        alpha, sigma = a.sqrt(), (1 - a).sqrt()
        noise = (sample - alpha * x0) / sigma if sigma > 0 else sample
        return alpha * noise - sigma * x0

    return predict


@pytest.mark.parametrize("steps", [1, 4, 30])
def test_perfect_v_prediction_lands_on_the_clean_sample(steps):
    x0 = torch.randn(1, 4, 2, 3, 3, generator=torch.Generator().manual_seed(1))
    solver = ddim_v_solver(steps)
    out = denoise(_true_velocity(x0, solver.scheduler.alphas_cumprod), seeded_noise(x0.shape, 0), solver)
    torch.testing.assert_close(out, x0, atol=1e-4, rtol=1e-4)


def test_first_step_from_pure_noise_predicts_x0_from_v_alone():
    # At SNR 0 the sample carries no signal; x0 = -v exactly (α = 0, σ = 1).
    solver = ddim_v_solver(2)
    x0 = torch.full((1, 4, 1, 2, 2), 0.5)
    noise = torch.randn_like(x0)
    step_one = solver.step(-x0, 0, noise)
    a_next = solver.scheduler.alphas_cumprod[int(solver.timesteps[1])]
    expected = a_next.sqrt() * x0 + (1 - a_next).sqrt() * noise
    torch.testing.assert_close(step_one, expected, atol=1e-5, rtol=1e-5)


def test_settings_reject_bad_values():
    with pytest.raises(ValueError):
        DdimSettings(steps=0)
    with pytest.raises(ValueError):
        DdimSettings(guidance=-1.0)
