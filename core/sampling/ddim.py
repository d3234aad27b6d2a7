"""DDIM for v-prediction networks trained on a zero-terminal-SNR schedule (AnimateAnyone, SPEC §1.4, §1.7).

Moore-AnimateAnyone ``configs/inference/inference_v2.yaml``: linear β 0.00085 → 0.012 over 1000 steps, betas
rescaled so the last step has SNR 0 (the network sees pure noise at t = 999), "trailing" spacing so sampling starts
exactly there, v-prediction, no clipping. diffusers' ``DDIMScheduler`` implements exactly this; it runs behind the
shared ``Solver`` interface so the loop, CFG and progress stay in ``loop.py``. Training uses the same schedule
(``ZERO_SNR_SCHEDULE``) with diffusers' ``DDPMScheduler``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .solvers import DiffusersSolver

ZERO_SNR_SCHEDULE = {"num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012,
                     "beta_schedule": "linear", "rescale_betas_zero_snr": True, "prediction_type": "v_prediction"}
DDIM_SETTINGS = {**ZERO_SNR_SCHEDULE, "clip_sample": False, "steps_offset": 1, "timestep_spacing": "trailing"}


def ddim_v_solver(steps: int, device: torch.device | str = "cpu", eta: float = 0.0) -> DiffusersSolver:
    """A DDIM solver with AnimateAnyone's schedule; ``eta`` > 0 adds DDIM's stochastic term."""
    from diffusers import DDIMScheduler

    if steps < 1:
        raise ValueError("steps must be at least 1")
    solver = DiffusersSolver(DDIMScheduler(**DDIM_SETTINGS), steps, device)
    if eta:
        scheduler_step = solver.scheduler.step
        solver.step = lambda prediction, index, sample: scheduler_step(  # type: ignore[method-assign]
            prediction, solver.timesteps[index], sample, eta=eta, return_dict=False)[0]
    return solver


@dataclass(frozen=True)
class DdimSettings:
    """User-facing sampler settings (defaults: Moore ``scripts/pose2vid.py``, 30 steps, CFG 3.5; SPEC §1.7)."""

    steps: int = 30
    guidance: float = 3.5
    seed: int = 0

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError("steps must be at least 1")
        if self.guidance < 0:
            raise ValueError("guidance must be >= 0")

    def make_solver(self, device: torch.device | str = "cpu") -> DiffusersSolver:
        return ddim_v_solver(self.steps, device)
