"""EDM sampling with SVD conditioning: Euler on Karras sigmas, frame-ramped CFG, tiled long videos (SPEC §2.6).

What SVD-family samplers (StableAnimator, DanceTogether) share: the scheduler (SVD-xt's ``EulerDiscreteScheduler``
config, v-prediction, continuous timesteps ``0.25·ln σ``), input scaling ``c_in = 1/√(σ²+1)`` on the noisy
latent only, the reference latent concatenated on channels (zero in the unconditional branch), the added time
ids ``[fps − 1, motion bucket, noise aug]`` (SVD was trained on fps − 1), a guidance scale ramped linearly over
frames, and the 16-frame tiles. A method supplies only ``network(x, timestep, frames, positive)``: how its
conditioning enters for those frames in the positive or negative branch. Loop, solver wrapper, noise and
progress are the shared ones (``loop``, ``solvers``).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..progress import Progress, no_progress
from .loop import Predict, denoise, seeded_noise
from .solvers import DiffusersSolver
from .tiles import TILE_FRAMES, TILE_OVERLAP, blend_tiles

# stabilityai/stable-video-diffusion-img2vid-xt scheduler/scheduler_config.json
SVD_SCHEDULER_CONFIG: dict = {
    "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085, "interpolation_type": "linear",
    "num_train_timesteps": 1000, "prediction_type": "v_prediction", "sigma_max": 700.0, "sigma_min": 0.002,
    "steps_offset": 1, "timestep_spacing": "leading", "timestep_type": "continuous", "use_karras_sigmas": True,
}

# network(x (B, F, 2·C, h, w) = [c_in·z ; reference], timestep (B,), frame indices, positive) → (B, F, C, h, w)
SvdNetwork = Callable[[torch.Tensor, torch.Tensor, tuple[int, ...], bool], torch.Tensor]


@dataclass(frozen=True)
class SvdSettings:
    """User-facing SVD sampler settings; defaults are StableAnimator's / DanceTogether's inference values."""

    steps: int = 25
    min_guidance: float = 3.0
    max_guidance: float = 3.0
    fps: int = 7
    motion_bucket: int = 127
    noise_aug: float = 0.02
    seed: int = 0
    tile: int = TILE_FRAMES
    overlap: int = TILE_OVERLAP

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError("steps must be at least 1")
        if self.min_guidance < 1.0 or self.max_guidance < 1.0:
            raise ValueError("guidance scales must be at least 1.0 (1.0 = no guidance)")
        if self.fps < 1:
            raise ValueError("fps must be at least 1")

    def time_ids(self, batch: int = 1) -> torch.Tensor:
        """``(batch, 3)`` added time ids ``[fps − 1, motion bucket, noise aug]``."""
        ids = torch.tensor([[self.fps - 1, self.motion_bucket, self.noise_aug]], dtype=torch.float32)
        return ids.repeat(batch, 1)

    def frame_guidance(self, frames: int) -> torch.Tensor:
        """Guidance per frame, ``linspace(min, max, frames)``."""
        return torch.linspace(self.min_guidance, self.max_guidance, frames)


def euler_edm_solver(steps: int, device: torch.device | str = "cpu") -> DiffusersSolver:
    """SVD-xt's Euler scheduler behind the shared ``Solver`` interface."""
    from diffusers import EulerDiscreteScheduler

    return DiffusersSolver(EulerDiscreteScheduler(**SVD_SCHEDULER_CONFIG), steps, device)


def frame_ramped(predict: Predict, scales: torch.Tensor) -> Predict:
    """A ``Predict`` whose positive output is already guided with one scale per frame (dim 1 of the sample).

    The shared ``guided`` takes one scalar; SVD ramps the scale over frames, so this combines both branches
    itself and the loop runs with guidance 1.
    """
    def combined(sample: torch.Tensor, timestep: torch.Tensor, positive: bool) -> torch.Tensor:
        cond = predict(sample, timestep, True)
        if bool((scales == 1.0).all()):
            return cond
        uncond = predict(sample, timestep, False)
        scale = scales.to(cond.device, cond.dtype).reshape((1, -1) + (1,) * (cond.ndim - 2))
        return uncond + scale * (cond - uncond)

    return combined


def svd_noise(shape: tuple[int, ...], seed: int, tile: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Initial noise ``(B, F, C, h, w)``: one tile's worth of frames repeated over the video, as StableAnimator
    draws it, so overlapping tiles start from consistent noise."""
    b, frames = shape[:2]
    return repeated_over_time(seeded_noise((b, min(frames, tile)) + tuple(shape[2:]), seed, device), frames)


def repeated_over_time(first: torch.Tensor, frames: int) -> torch.Tensor:
    """``(B, n, ...)`` noise repeated along dim 1 to ``frames`` (frame j uses noise frame j mod n)."""
    repeats = -(-frames // first.shape[1])
    return first.repeat(1, repeats, *([1] * (first.ndim - 2)))[:, :frames]


def sample_svd(network: SvdNetwork, reference: torch.Tensor, frames: int, settings: SvdSettings,
               progress: Progress = no_progress, noise: torch.Tensor | None = None) -> torch.Tensor:
    """Denoise a video; ``reference`` ``(B, C, h, w)`` is the (noise-augmented, unscaled) reference latent.

    ``noise``: the initial noise ``(B, n, C, h, w)`` instead of the seeded tile (StableAnimator's ``latents``
    argument), repeated over time as the seeded one is.

    Returns the latent video ``(B, frames, C, h, w)`` (still to be divided by the VAE scaling factor).
    """
    device = reference.device
    solver = euler_edm_solver(settings.steps, device)
    scheduler = solver.scheduler
    tiled_reference = reference.float().unsqueeze(1).expand(-1, frames, -1, -1, -1)
    references = {True: tiled_reference, False: torch.zeros_like(tiled_reference)}

    def predict(sample: torch.Tensor, timestep: torch.Tensor, positive: bool) -> torch.Tensor:
        scaled = scheduler.scale_model_input(sample, timestep[0])
        model_input = torch.cat([scaled, references[positive]], dim=2)
        return blend_tiles(lambda idx: network(model_input[:, list(idx)], timestep, idx, positive), frames,
                           settings.tile, settings.overlap)

    if noise is None:
        noise = svd_noise((reference.shape[0], frames) + tuple(reference.shape[1:]), settings.seed, settings.tile,
                          device)
    else:
        noise = repeated_over_time(noise.to(device, torch.float32), frames)
    noise = noise * scheduler.init_noise_sigma
    guided = frame_ramped(predict, settings.frame_guidance(frames))
    return denoise(guided, noise, solver, 1.0, progress=progress)
