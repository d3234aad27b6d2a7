"""Rectified-flow training objective of SCAIL-2 / Wan (SPEC §3.4, SCAIL-2 ``RFLoss``).

The noise level is a logit-normal σ, shifted towards more noise for larger latents (more tokens per frame need
more noise to destroy the same information). Leading history frames are given clean, carry history mask 1 and
are excluded from the loss, so the network learns to continue a video rather than to copy its input.
"""
from __future__ import annotations

import math

import torch

SHIFT_BASE, SHIFT_MAX = 0.5, 1.15  # μ at 256 and 4096 tokens per latent frame (RFSampling resolution shift)
TOKENS_BASE, TOKENS_MAX = 256, 4096
HISTORY_FRAMES = 2  # latent frames of clean history (= 5 pixel frames, SPEC §3.6)


def resolution_shift(tokens_per_frame: int) -> float:
    """μ of the resolution shift: linear in the tokens per latent frame ``S = h·w/4``."""
    return SHIFT_BASE + (SHIFT_MAX - SHIFT_BASE) * (tokens_per_frame - TOKENS_BASE) / (TOKENS_MAX - TOKENS_BASE)


def shift_sigma(sigma: torch.Tensor, tokens_per_frame: int) -> torch.Tensor:
    """``σ' = e^μ / (e^μ + 1/σ − 1)``: the same time-shift Wan's samplers apply, with μ from the resolution."""
    e_mu = math.exp(resolution_shift(tokens_per_frame))
    return e_mu / (e_mu + 1.0 / sigma - 1.0)


def sample_sigma(batch: int, tokens_per_frame: int, generator: torch.Generator | None = None,
                 mean: float = 0.0, std: float = 1.0) -> torch.Tensor:
    """Shifted logit-normal noise levels ``(batch,)`` in (0, 1): ``σ = sigmoid(N(mean, std))``, then shifted."""
    sigma = torch.sigmoid(mean + std * torch.randn(batch, generator=generator))
    return shift_sigma(sigma.clamp(1e-5, 1 - 1e-5), tokens_per_frame)


def with_low_noise(sigma: torch.Tensor, generator: torch.Generator | None, probability: float,
                   high: float = 0.3) -> torch.Tensor:
    """``sigma`` with each entry replaced, with ``probability``, by ``U(0, high)``.

    Why: for tiny latents (a few dozen tokens per frame) the shifted logit-normal almost never trains σ < 0.3,
    so a sampler's last steps leave noise the network never learnt to remove. ``probability`` 0 draws nothing
    (earlier runs stay bit-identical)."""
    if probability <= 0:
        return sigma
    pick = torch.rand(sigma.shape, generator=generator) < probability
    low = torch.rand(sigma.shape, generator=generator) * high
    return torch.where(pick, low.clamp_min(1e-3), sigma)


def noisy_latent(x0: torch.Tensor, noise: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """``x_t = (1−σ) x0 + σ ε`` with σ ``(B,)`` broadcast over ``(B, C, F, h, w)``."""
    s = sigma.to(x0.dtype).reshape(-1, *([1] * (x0.ndim - 1)))
    return (1 - s) * x0 + s * noise


def velocity_target(x0: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """The flow target ``u = ε − x0`` (what the network predicts)."""
    return noise - x0


def with_history(x_t: torch.Tensor, x0: torch.Tensor, history_frames: int) -> torch.Tensor:
    """``x_t`` whose first ``history_frames`` latent frames are replaced by the clean ``x0``."""
    if history_frames == 0:
        return x_t
    x_t = x_t.clone()
    x_t[:, :, :history_frames] = x0[:, :, :history_frames]
    return x_t


def history_frame_count(generator: torch.Generator | None, can_have_history: bool, latent_frames: int,
                        p_with: float = 0.5, p_without: float = 0.15) -> int:
    """How many leading frames are clean history this sample: 2 with probability 0.5 (0.15 for clips that cannot
    have history), never all frames (something must remain to denoise)."""
    p = p_with if can_have_history else p_without
    if latent_frames <= HISTORY_FRAMES or float(torch.rand(1, generator=generator)) >= p:
        return 0
    return HISTORY_FRAMES


def perturbed_history(x0: torch.Tensor, history_frames: int, generator: torch.Generator | None,
                      max_sigma: float) -> torch.Tensor:
    """``x0`` whose first ``history_frames`` latent frames carry a little noise, ``σ_h ~ U(0, max_sigma)`` per
    sample (the network is not told σ_h).

    Why: a long video is generated segment by segment, each continuing from frames the model drew itself; trained
    only on perfect history, a small model copies every artefact forward and the errors pile up over the
    segments. ``max_sigma`` 0 (or no history) draws nothing, so earlier runs stay bit-identical."""
    if max_sigma <= 0 or history_frames == 0:
        return x0
    head = x0[:, :, :history_frames]
    sigma = torch.rand(x0.shape[0], generator=generator) * max_sigma
    noise = torch.randn(head.shape, generator=generator).to(x0.device)
    out = x0.clone()
    out[:, :, :history_frames] = noisy_latent(head, noise, sigma.to(x0.device))
    return out


def flow_matching_loss(prediction: torch.Tensor, target: torch.Tensor, history_frames: int = 0,
                       exclude: torch.Tensor | None = None, weight: torch.Tensor | None = None) -> torch.Tensor:
    """``mean((1−hist)(1−exclude) ⊙ W ⊙ (v̂ − u)²)`` normalised by *all* elements, as SCAIL-2's ``RFLoss`` does.

    ``exclude`` (e.g. OCR-text regions) broadcasts against ``(B, C, F, h, w)`` with 1 where the loss is ignored;
    ``weight`` (e.g. ``person_loss_weight``) broadcasts the same way and up-weights regions.
    """
    if prediction.shape != target.shape:
        raise ValueError(f"prediction {tuple(prediction.shape)} and target {tuple(target.shape)} differ")
    keep = torch.ones_like(target[:, :1])
    keep[:, :, :history_frames] = 0
    if exclude is not None:
        keep = keep * (1 - exclude.to(keep.dtype))
    if weight is not None:
        keep = keep * weight.to(keep.dtype)
    return ((prediction.float() - target.float()) ** 2 * keep).mean()


def person_loss_weight(person_masks: torch.Tensor, size: tuple[int, int], extra: float) -> torch.Tensor:
    """``W = 1 + extra·clamp(Σ_p M_p, 0, 1)`` area-resized to the latent ``size``: ``(B, 1, F, h, w)``.

    Why: people cover a tenth of a frame, so a plain flow loss spends nine tenths of its signal on the background
    and hardly notices a character drawn in the other one's clothes. DanceTogether up-weights people the same way
    (``masked_reconstruction.person_weight_map``, per person and face, nearest); here overlaps count once and
    the mask is area-resized, so a token half covered by a person gets half the extra weight. ``person_masks`` ``(B, F, P, H, W)``: one pixel mask per latent frame and person.
    """
    b, f, _, h, w = person_masks.shape
    union = person_masks.float().sum(2).clamp(0, 1).reshape(b * f, 1, h, w)
    small = torch.nn.functional.interpolate(union, size=size, mode="area")
    return (1 + extra * small).reshape(b, f, 1, *size).transpose(1, 2)
