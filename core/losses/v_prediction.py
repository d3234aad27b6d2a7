"""AnimateAnyone's diffusion loss: v-prediction on the zero-terminal-SNR schedule with min-SNR weighting (SPEC §1.4).

The schedule (linear β 0.00085 → 0.012, rescaled to SNR 0 at t = 999) is the one the DDIM sampler uses
(``sampling.ddim.ZERO_SNR_SCHEDULE``), so training and sampling agree on every α. The min-SNR weight
``min(SNR+1, γ)/(SNR+1)`` (the +1 for v-prediction) keeps easy low-noise steps from dominating.
"""
from __future__ import annotations

import torch

MIN_SNR_GAMMA = 5.0
NOISE_OFFSET = 0.05


def zero_snr_alphas_cumprod() -> torch.Tensor:
    """ᾱ_t for t = 0 … 999 of AnimateAnyone's schedule (diffusers' own rescaling, float64)."""
    from diffusers import DDPMScheduler

    from ..sampling.ddim import ZERO_SNR_SCHEDULE

    return DDPMScheduler(**ZERO_SNR_SCHEDULE).alphas_cumprod.double()


def offset_noise(shape: tuple[int, ...], generator: torch.Generator | None = None,
                 offset: float = NOISE_OFFSET) -> torch.Tensor:
    """Gaussian noise plus ``offset`` × a per-sample, per-channel constant (lets the model shift mean brightness)."""
    noise = torch.randn(shape, generator=generator)
    return noise + offset * torch.randn(shape[:2] + (1,) * (len(shape) - 2), generator=generator)


def _per_sample(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return values.to(like.dtype).reshape(-1, *([1] * (like.ndim - 1)))


def noisy_and_target(x0: torch.Tensor, noise: torch.Tensor, alphas_cumprod: torch.Tensor, t: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """``x_t = α x0 + σ ε`` and the target ``v = α ε − σ x0`` with ``α = √ᾱ_t``, ``σ = √(1−ᾱ_t)``."""
    abar = alphas_cumprod.to(x0.device)[t]
    alpha, sigma = _per_sample(abar.sqrt(), x0), _per_sample((1 - abar).sqrt(), x0)
    return alpha * x0 + sigma * noise, alpha * noise - sigma * x0


def snr(alphas_cumprod: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    abar = alphas_cumprod[t.cpu()]
    return (abar / (1 - abar).clamp_min(1e-20)).float()


def v_prediction_loss(prediction: torch.Tensor, target: torch.Tensor, snr_t: torch.Tensor,
                      gamma: float = MIN_SNR_GAMMA) -> torch.Tensor:
    """``mean_b[ min(SNR_t+1, γ)/(SNR_t+1) · mean((v̂ − v)²) ]``."""
    weight = (torch.clamp(snr_t + 1, max=gamma) / (snr_t + 1)).to(prediction.device)
    per_sample = ((prediction.float() - target.float()) ** 2).flatten(1).mean(1)
    return (weight * per_sample).mean()
