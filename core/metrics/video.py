"""Reference-based video quality: L1, PSNR, SSIM, ST-SSIM and GMSD-T, full frame and per person (SPEC §6.4).

Videos are float ``(T, H, W, C)`` in ``[0, 1]`` (ComfyUI's IMAGE layout), as torch tensors or numpy arrays.
Per-person scores zero everything outside the person's mask in both videos, score the whole frame, and average
over persons (DanceTogether's "human masked region" protocol).

Choices where the sources are silent (documented here once):
* PSNR caps the per-frame MSE at 1e-10, i.e. identical frames score 100 dB instead of infinity.
* ST-SSIM is SSIM on 3-frame spatio-temporal blocks: the 11×11 Gaussian (σ 1.5) spatial window times a uniform
  3-frame temporal window; clips shorter than 3 frames score NaN.
* GMSD-T is GMSD (Xue et al. 2014: Prewitt gradient magnitude, c = 170/255²) applied to the frame differences
  ``Y_t − Y_{t−1}`` of the BT.601 luma, i.e. it compares motion structure; one-frame clips score NaN.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import InputError

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1, SSIM_K2 = 0.01, 0.03
ST_SSIM_FRAMES = 3
GMSD_C = 170.0 / 255.0**2
PSNR_MIN_MSE = 1e-10
LUMA = (0.299, 0.587, 0.114)


def as_video(video, name: str) -> torch.Tensor:
    """A float64 ``(T, H, W, C)`` tensor in ``[0, 1]``, or an ``InputError`` naming ``name``."""
    tensor = torch.as_tensor(np.asarray(video) if not isinstance(video, torch.Tensor) else video)
    tensor = tensor.detach().to("cpu", torch.float64)
    if tensor.ndim == 3:
        tensor = tensor[..., None]
    if tensor.ndim != 4 or tensor.shape[0] == 0:
        raise InputError(name, f"expected frames (T, H, W, C), got shape {tuple(tensor.shape)}",
                         "pass an IMAGE batch or a decoded video")
    if not torch.isfinite(tensor).all() or tensor.min() < 0 or tensor.max() > 1:
        raise InputError(name, "pixel values must be finite and within [0, 1]", "scale 8-bit frames by 1/255")
    return tensor


def check_same_geometry(generated: torch.Tensor, reference: torch.Tensor) -> None:
    """Refuse pairs of different lengths or sizes instead of scoring a silently broadcast or truncated pair."""
    if generated.shape[0] != reference.shape[0]:
        raise InputError("generated", f"has {generated.shape[0]} frames but the reference has {reference.shape[0]}",
                         "trim both videos to the same frames (e.g. the shorter length) before evaluating")
    if generated.shape[1:] != reference.shape[1:]:
        raise InputError("generated", f"frames are {tuple(generated.shape[1:])} (H, W, C) but the reference's are "
                         f"{tuple(reference.shape[1:])}", "resize the generated video to the reference size")


def l1(generated: torch.Tensor, reference: torch.Tensor) -> float:
    """Mean absolute error over all pixels and channels, on ``[0, 1]``."""
    return float((generated - reference).abs().mean())


def psnr(generated: torch.Tensor, reference: torch.Tensor) -> float:
    """Mean over frames of ``10·log10(1 / MSE_t)`` (DisCo's "PSNR*", no uint8 overflow)."""
    mse = ((generated - reference) ** 2).flatten(1).mean(1).clamp_min(PSNR_MIN_MSE)
    return float((10 * torch.log10(1.0 / mse)).mean())


def _gaussian(size: int, sigma: float) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def _separable_blur(x: torch.Tensor, kernels: list[torch.Tensor]) -> torch.Tensor:
    """Valid-region blur of ``(N, 1, *dims)`` with one 1-D kernel per trailing axis (a separable window).

    A weighted sum of shifted views per axis: exact, and faster on CPU in float64 than ``conv2d``/``conv3d``.
    """
    for axis, kernel in enumerate(kernels, start=2):
        length = x.shape[axis] - len(kernel) + 1
        x = sum(float(w) * x.narrow(axis, k, length) for k, w in enumerate(kernel))
    return x


def _ssim_map(x: torch.Tensor, y: torch.Tensor, kernels: list[torch.Tensor]) -> torch.Tensor:
    """SSIM map of ``(N, 1, [D,] H, W)`` stacks under the separable window ``kernels`` (valid region, range 1)."""
    mu_x, mu_y = _separable_blur(x, kernels), _separable_blur(y, kernels)
    sxx = _separable_blur(x * x, kernels) - mu_x**2
    syy = _separable_blur(y * y, kernels) - mu_y**2
    sxy = _separable_blur(x * y, kernels) - mu_x * mu_y
    c1, c2 = SSIM_K1**2, SSIM_K2**2
    return ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x**2 + mu_y**2 + c1) * (sxx + syy + c2))


def _check_ssim_size(video: torch.Tensor) -> None:
    if min(video.shape[1:3]) < SSIM_WINDOW:
        raise InputError("generated", f"frames of {tuple(video.shape[1:3])} are smaller than the "
                         f"{SSIM_WINDOW}×{SSIM_WINDOW} SSIM window", "evaluate at a larger resolution")


def ssim(generated: torch.Tensor, reference: torch.Tensor) -> float:
    """Per frame and channel SSIM (Gaussian 11×11, σ 1.5, K1 0.01, K2 0.03), averaged."""
    _check_ssim_size(generated)
    g = _gaussian(SSIM_WINDOW, SSIM_SIGMA)
    x = generated.permute(0, 3, 1, 2).reshape(-1, 1, *generated.shape[1:3])
    y = reference.permute(0, 3, 1, 2).reshape(-1, 1, *reference.shape[1:3])
    return float(_ssim_map(x, y, [g, g]).mean())


def st_ssim(generated: torch.Tensor, reference: torch.Tensor) -> float:
    """SSIM over 3-frame spatio-temporal blocks, per channel, averaged; NaN for clips under 3 frames."""
    if generated.shape[0] < ST_SSIM_FRAMES:
        return math.nan
    _check_ssim_size(generated)
    g = _gaussian(SSIM_WINDOW, SSIM_SIGMA)
    box = torch.full((ST_SSIM_FRAMES,), 1.0 / ST_SSIM_FRAMES, dtype=torch.float64)
    x = generated.permute(3, 0, 1, 2)[:, None]  # (C, 1, T, H, W)
    y = reference.permute(3, 0, 1, 2)[:, None]
    return float(_ssim_map(x, y, [box, g, g]).mean())


def _luma(video: torch.Tensor) -> torch.Tensor:
    if video.shape[-1] == 1:
        return video[..., 0]
    return (video[..., :3] * torch.tensor(LUMA, dtype=video.dtype)).sum(-1)


def _gradient_magnitude(frames: torch.Tensor) -> torch.Tensor:
    """Prewitt gradient magnitude of ``(N, H, W)`` frames (valid region)."""
    px = torch.tensor([[1.0, 0.0, -1.0]] * 3, dtype=frames.dtype) / 3
    kernels = torch.stack([px, px.T])[:, None]
    grads = F.conv2d(frames[:, None], kernels)
    return grads.pow(2).sum(1).sqrt()


def gmsd_temporal(generated: torch.Tensor, reference: torch.Tensor) -> float:
    """Mean over t ≥ 2 of the std of the gradient-magnitude similarity of luma frame differences (lower is better)."""
    if generated.shape[0] < 2:
        return math.nan
    dg, dr = _luma(generated).diff(dim=0), _luma(reference).diff(dim=0)
    mg, mr = _gradient_magnitude(dg), _gradient_magnitude(dr)
    gms = (2 * mg * mr + GMSD_C) / (mg**2 + mr**2 + GMSD_C)
    return float(gms.flatten(1).std(dim=1, unbiased=False).mean())


FULL_REFERENCE_METRICS = {"L1": l1, "PSNR": psnr, "SSIM": ssim, "ST-SSIM": st_ssim, "GMSD-T": gmsd_temporal}


def as_person_masks(masks, frames: int, height: int, width: int) -> torch.Tensor:
    """Validated float ``(T, P, H, W)`` masks in ``[0, 1]``; ``(T, H, W)`` is read as one person."""
    tensor = torch.as_tensor(np.asarray(masks) if not isinstance(masks, torch.Tensor) else masks)
    tensor = tensor.detach().to("cpu", torch.float64)
    if tensor.ndim == 3:
        tensor = tensor[:, None]
    if tensor.ndim != 4 or tensor.shape[0] != frames or tuple(tensor.shape[2:]) != (height, width):
        raise InputError("masks", f"expected (T={frames}, persons, H={height}, W={width}), got {tuple(tensor.shape)}",
                         "give one mask per frame and person at the video's size")
    return tensor.clamp(0, 1)


def video_quality(generated, reference, person_masks=None) -> dict[str, float]:
    """All full-reference scores on the full frame, and (with masks) ``masked_<name>`` averaged over persons.

    A person whose mask is empty in every frame has no region to score: it is left out of the average, and if
    no person has any pixel the masked scores are NaN.
    """
    gen, ref = as_video(generated, "generated"), as_video(reference, "reference")
    check_same_geometry(gen, ref)
    scores = {name: fn(gen, ref) for name, fn in FULL_REFERENCE_METRICS.items()}
    if person_masks is None:
        return scores
    masks = as_person_masks(person_masks, *gen.shape[:3])
    present = [p for p in range(masks.shape[1]) if masks[:, p].any()]
    for name, fn in FULL_REFERENCE_METRICS.items():
        per_person = [fn(gen * masks[:, p, ..., None], ref * masks[:, p, ..., None]) for p in present]
        scores[f"masked_{name}"] = float(np.mean(per_person)) if per_person else math.nan
    return scores
