"""DanceTogether's multi-person masked EDM reconstruction loss (SPEC §2.4, StableAnimator's objective).

StableAnimator (SVD-xt) trains an EDM denoiser; DanceTogether up-weights the error on every person (×2) and on
every face (×3), so the network spends its capacity where identity lives rather than on the background. The
weight multiplies the squared error once (the code's form), it is not squared.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

SIGMA_MIN, SIGMA_MAX = 0.002, 700.0
SIGMA_DATA = 0.5
IMAGE_D, NOISE_D_LOW, NOISE_D_HIGH = 64, 32, 64
BODY_WEIGHT, FACE_WEIGHT = 1.0, 2.0


def _cosine_logsnr(t: torch.Tensor, logsnr_low: float, logsnr_high: float) -> torch.Tensor:
    """Cosine schedule of log-SNR from ``logsnr_high`` (t = 0) down to ``logsnr_low`` (t = 1)."""
    a = math.atan(math.exp(-0.5 * logsnr_high))
    b = math.atan(math.exp(-0.5 * logsnr_low))
    return -2 * torch.log(torch.tan(a + t * (b - a)))


def _shifted_logsnr(t: torch.Tensor, noise_d: float, low: float, high: float, image_d: float) -> torch.Tensor:
    """The cosine schedule shifted for resolution: a ``noise_d``-sized image at ``image_d`` (simple diffusion)."""
    shift = 2 * math.log(noise_d / image_d)
    return _cosine_logsnr(t, low - shift, high - shift) + shift


def sample_edm_sigma(batch: int, generator: torch.Generator | None = None, image_d: float = IMAGE_D,
                     noise_d_low: float = NOISE_D_LOW, noise_d_high: float = NOISE_D_HIGH,
                     sigma_min: float = SIGMA_MIN, sigma_max: float = SIGMA_MAX,
                     sigma_data: float = SIGMA_DATA) -> torch.Tensor:
    """σ ``(batch,)`` from the interpolated-cosine sampler: the log-SNR schedules for ``noise_d`` 32 and 64 are
    blended by t itself, favouring low noise at small t and high-resolution-shifted noise at large t."""
    t = torch.rand(batch, generator=generator, dtype=torch.float64)
    high = -2 * math.log(sigma_min / sigma_data)
    low = -2 * math.log(sigma_max / sigma_data)
    logsnr = torch.lerp(_shifted_logsnr(t, noise_d_low, low, high, image_d),
                        _shifted_logsnr(t, noise_d_high, low, high, image_d), t)
    return (torch.exp(-logsnr / 2) * sigma_data).float().clamp(sigma_min, sigma_max)


@dataclass(frozen=True)
class EdmScaling:
    """Preconditioning of the denoiser ``D = c_out·F(c_in·z; c_noise) + c_skip·z`` (SVD's v-style EDM)."""

    c_skip: torch.Tensor
    c_out: torch.Tensor
    c_in: torch.Tensor
    c_noise: torch.Tensor


def edm_scaling(sigma: torch.Tensor) -> EdmScaling:
    """``c_skip = 1/(σ²+1)``, ``c_out = −σ/√(σ²+1)``, ``c_in = 1/√(σ²+1)``, ``c_noise = ¼ ln σ``."""
    s2 = sigma.float() ** 2
    return EdmScaling(c_skip=1 / (s2 + 1), c_out=-sigma / (s2 + 1).sqrt(), c_in=1 / (s2 + 1).sqrt(),
                      c_noise=0.25 * sigma.log())


def denoised(network_output: torch.Tensor, noisy: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """``D = c_out·F + c_skip·z_σ`` with σ ``(B,)`` broadcast over the batch-first latent."""
    scaling = edm_scaling(sigma)
    shape = (-1, *([1] * (noisy.ndim - 1)))
    return scaling.c_out.reshape(shape) * network_output + scaling.c_skip.reshape(shape) * noisy


def person_weight_map(body_masks: torch.Tensor, face_masks: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``W = 1 + Σ_i (M_body^i + 2·M_face^i)`` nearest-downsampled to the latent ``size``.

    Masks ``(B, T, N, H, W)`` (N people); returns ``(B, T, 1, h, w)`` to broadcast over latent channels.
    """
    if body_masks.shape != face_masks.shape:
        raise ValueError(f"body masks {tuple(body_masks.shape)} and face masks {tuple(face_masks.shape)} differ")
    b, t, n, h, w = body_masks.shape
    per_person = BODY_WEIGHT * body_masks.float() + FACE_WEIGHT * face_masks.float()
    small = F.interpolate(per_person.reshape(b * t, n, h, w), size=size, mode="nearest")
    return (1 + small.sum(1)).reshape(b, t, 1, *size)


def masked_reconstruction_loss(denoised_latent: torch.Tensor, clean: torch.Tensor, sigma: torch.Tensor,
                               weight: torch.Tensor) -> torch.Tensor:
    """``E[ mean_{t,c,h,w}( λ(σ)·(D − z0)²·W ) ]`` with ``λ(σ) = (1+σ²)/σ²`` (SPEC §2.4)."""
    if denoised_latent.shape != clean.shape:
        raise ValueError(f"denoised {tuple(denoised_latent.shape)} and clean {tuple(clean.shape)} differ")
    lam = (1 + sigma.float() ** 2) / sigma.float() ** 2
    error = (denoised_latent.float() - clean.float()) ** 2 * weight.float()
    return (lam * error.flatten(1).mean(1)).mean()
