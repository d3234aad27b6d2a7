"""Step rules that turn a model prediction into the next latent, behind one small interface.

Every sampler's loop is the same: for each step, ask the network, guide, ``solver.step``. Only the solver and the
network's prediction type differ between backbones, so they live here as interchangeable ``Solver`` objects.
Flow matching (Wan, SCAIL-2, DreamActor-M2 port) uses ``FlowEuler`` (the SAT release's RF Euler) or ``FlowUniPC``
(the ``wan-scail2`` pipeline's default); other backbones can wrap their diffusers scheduler in ``DiffusersSolver``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch

FLOW_TIMESTEP_SCALE = 1000.0  # Wan's network takes t = σ·1000


def flow_sigmas(steps: int, shift: float) -> torch.Tensor:
    """Wan's shifted flow-matching sigmas, ``steps + 1`` values from 1 down to a terminal 0 (SPEC §3.6).

    ``σ = shift·s / (1 + (shift − 1)·s)`` over ``s = linspace(1, 0, steps + 1)`` (Wan2.1 ``fm_solvers.py``).
    """
    if steps < 1:
        raise ValueError("steps must be at least 1")
    s = torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64)
    return (shift * s / (1 + (shift - 1) * s)).float()


class Solver(Protocol):
    """A sampling schedule: the timesteps the network sees and how one prediction advances the latent."""

    timesteps: torch.Tensor

    def step(self, prediction: torch.Tensor, index: int, sample: torch.Tensor) -> torch.Tensor: ...


class FlowEuler:
    """Rectified-flow Euler: ``x ← x + (σ_next − σ)·v`` for a velocity prediction ``v = ε − x0``."""

    def __init__(self, steps: int, shift: float) -> None:
        self.sigmas = flow_sigmas(steps, shift)
        self.timesteps = self.sigmas[:-1] * FLOW_TIMESTEP_SCALE

    def step(self, prediction: torch.Tensor, index: int, sample: torch.Tensor) -> torch.Tensor:
        delta = float(self.sigmas[index + 1] - self.sigmas[index])
        return (sample.float() + delta * prediction.float()).to(sample.dtype)


class DiffusersSolver:
    """Any diffusers scheduler (UniPC, DDIM, Euler/EDM …) behind the ``Solver`` interface."""

    def __init__(self, scheduler, steps: int, device: torch.device | str = "cpu", **set_timesteps_kwargs) -> None:
        self.scheduler = scheduler
        scheduler.set_timesteps(steps, device=device, **set_timesteps_kwargs)
        self.timesteps = scheduler.timesteps

    def step(self, prediction: torch.Tensor, index: int, sample: torch.Tensor) -> torch.Tensor:
        return self.scheduler.step(prediction, self.timesteps[index], sample, return_dict=False)[0]


def flow_unipc(steps: int, shift: float, device: torch.device | str = "cpu") -> DiffusersSolver:
    """Multistep UniPC on flow sigmas (Wan's ``FlowUniPCMultistepScheduler`` through diffusers' UniPC)."""
    from diffusers import UniPCMultistepScheduler

    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=shift,
                                        num_train_timesteps=1000)
    # diffusers applies flow_shift itself, so it gets Wan's unshifted s = linspace(1, 0)[:steps].
    unshifted = torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64)[:-1].numpy()
    return DiffusersSolver(scheduler, steps, device, sigmas=unshifted)


FLOW_SOLVERS = {"euler": FlowEuler, "unipc": flow_unipc}


def make_flow_solver(name: str, steps: int, shift: float, device: torch.device | str = "cpu") -> Solver:
    """``"euler"`` or ``"unipc"`` with Wan's shifted sigmas."""
    if name == "euler":
        return FlowEuler(steps, shift)
    if name == "unipc":
        return flow_unipc(steps, shift, device)
    raise ValueError(f"unknown flow solver {name!r}; choose one of {sorted(FLOW_SOLVERS)}")


@dataclass(frozen=True)
class FlowSettings:
    """User-facing flow-matching sampler settings (defaults: the ``wan-scail2`` pipeline, SPEC §3.6)."""

    steps: int = 40
    shift: float = 5.0
    guidance: float = 5.0
    solver: str = "unipc"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError("steps must be at least 1")
        if self.solver not in FLOW_SOLVERS:
            raise ValueError(f"solver must be one of {sorted(FLOW_SOLVERS)}, not {self.solver!r}")

    def make_solver(self, device: torch.device | str = "cpu") -> Solver:
        return make_flow_solver(self.solver, self.steps, self.shift, device)
