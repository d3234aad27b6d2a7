"""The denoising loop every sampler shares: steps, classifier-free guidance, a per-step hook, progress.

A sampler only supplies ``predict(sample, timestep, positive)``: how conditioning enters its network. CFG here is
on whatever differs between the positive and negative call (for Wan in-context samplers: the text only; reference,
driving, masks and history are the same in both branches, SPEC §3.6). The uncond pass is skipped at scale 1.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import torch

from ..progress import Progress, no_progress
from .solvers import Solver


class VideoCodec(Protocol):
    """Pixels ``(T,H,W,3)`` in 0..1 ⇄ normalised latents ``(1,C,F,h,w)`` (e.g. ``models.wan_vae.WanVideoCodec``)."""

    def encode(self, frames: torch.Tensor) -> torch.Tensor: ...

    def decode(self, latent: torch.Tensor) -> torch.Tensor: ...


Predict = Callable[[torch.Tensor, torch.Tensor, bool], torch.Tensor]
StepHook = Callable[[torch.Tensor, int], torch.Tensor]


def guided(predict: Predict, sample: torch.Tensor, timestep: torch.Tensor, scale: float) -> torch.Tensor:
    """``uncond + scale·(cond − uncond)``; one network call when ``scale == 1``."""
    cond = predict(sample, timestep, True)
    if scale == 1.0:
        return cond
    uncond = predict(sample, timestep, False)
    return uncond + scale * (cond - uncond)


def denoise(predict: Predict, noise: torch.Tensor, solver: Solver, guidance: float = 1.0,
            after_step: StepHook | None = None, progress: Progress = no_progress) -> torch.Tensor:
    """Run ``solver`` from ``noise``; ``after_step(sample, index)`` may overwrite parts (e.g. clean history)."""
    sample = noise if after_step is None else after_step(noise, -1)
    total = len(solver.timesteps)
    for index, t in enumerate(solver.timesteps):
        timestep = t.reshape(1).expand(sample.shape[0]).to(sample.device)
        prediction = guided(predict, sample, timestep, guidance)
        sample = solver.step(prediction, index, sample)
        if after_step is not None:
            sample = after_step(sample, index)
        progress(index + 1, total)
    return sample


def seeded_noise(shape: tuple[int, ...], seed: int, device: torch.device | str = "cpu",
                 dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Gaussian noise that depends only on ``seed`` and ``shape`` (drawn on the CPU, so GPUs agree)."""
    generator = torch.Generator("cpu").manual_seed(int(seed))
    return torch.randn(shape, generator=generator, dtype=torch.float32).to(device=device, dtype=dtype)


def clean_history(history: torch.Tensor | None) -> StepHook | None:
    """A hook that writes the clean history latent into the first latent frames at every step (SPEC §3.6)."""
    if history is None or history.shape[2] == 0:
        return None
    frames = history.shape[2]

    def write(sample: torch.Tensor, index: int) -> torch.Tensor:
        sample = sample.clone()
        sample[:, :, :frames] = history.to(device=sample.device, dtype=sample.dtype)
        return sample

    return write
