"""Reference-based video quality: L1, PSNR, SSIM, ST-SSIM and GMSD-T, full frame and per person (SPEC §6.4).

Videos are float ``(T, H, W, C)`` in ``[0, 1]`` (ComfyUI's IMAGE layout), as torch tensors or numpy arrays; the
maths runs in numpy/scipy float64 (single-threaded, so small clips are not slowed by thread hand-offs).
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
from scipy import ndimage

from ..errors import InputError

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1, SSIM_K2 = 0.01, 0.03
ST_SSIM_FRAMES = 3
GMSD_C = 170.0 / 255.0**2
PSNR_MIN_MSE = 1e-10
LUMA = (0.299, 0.587, 0.114)


def _as_float64(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().double().numpy()
    return np.asarray(value, dtype=np.float64)


def as_video(video, name: str) -> np.ndarray:
    """A float64 ``(T, H, W, C)`` array in ``[0, 1]``, or an ``InputError`` naming ``name``."""
    array = _as_float64(video)
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4 or array.shape[0] == 0:
        raise InputError(name, f"expected frames (T, H, W, C), got shape {array.shape}",
                         "pass an IMAGE batch or a decoded video")
    if not np.isfinite(array).all() or array.min() < 0 or array.max() > 1:
        raise InputError(name, "pixel values must be finite and within [0, 1]", "scale 8-bit frames by 1/255")
    return array


def check_same_geometry(generated: np.ndarray, reference: np.ndarray) -> None:
    """Refuse pairs of different lengths or sizes instead of scoring a silently broadcast or truncated pair."""
    if generated.shape[0] != reference.shape[0]:
        raise InputError("generated", f"has {generated.shape[0]} frames but the reference has {reference.shape[0]}",
                         "trim both videos to the same frames (e.g. the shorter length) before evaluating")
    if generated.shape[1:] != reference.shape[1:]:
        raise InputError("generated", f"frames are {tuple(generated.shape[1:])} (H, W, C) but the reference's are "
                         f"{tuple(reference.shape[1:])}", "resize the generated video to the reference size")


def l1(generated: np.ndarray, reference: np.ndarray) -> float:
    """Mean absolute error over all pixels and channels, on ``[0, 1]``."""
    return float(np.abs(generated - reference).mean())


def psnr(generated: np.ndarray, reference: np.ndarray) -> float:
    """Mean over frames of ``10·log10(1 / MSE_t)`` (DisCo's "PSNR*", no uint8 overflow)."""
    mse = ((generated - reference) ** 2).reshape(len(generated), -1).mean(axis=1)
    return float((10 * np.log10(1.0 / np.maximum(mse, PSNR_MIN_MSE))).mean())


def _gaussian(size: int, sigma: float) -> np.ndarray:
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2
    g = np.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def _separable_blur(x: np.ndarray, kernels: dict[int, np.ndarray]) -> np.ndarray:
    """Valid-region blur of ``x`` with a 1-D kernel per axis (``{axis: kernel}``, a separable window)."""
    for axis, kernel in kernels.items():
        half = len(kernel) // 2
        x = ndimage.correlate1d(x, kernel, axis=axis, mode="constant")
        x = np.take(x, np.arange(half, x.shape[axis] - (len(kernel) - 1 - half)), axis=axis)
    return x


def _ssim_map(x: np.ndarray, y: np.ndarray, kernels: dict[int, np.ndarray]) -> np.ndarray:
    """SSIM map under the separable window ``kernels`` (valid region only, data range 1)."""
    mu_x, mu_y = _separable_blur(x, kernels), _separable_blur(y, kernels)
    sxx = _separable_blur(x * x, kernels) - mu_x**2
    syy = _separable_blur(y * y, kernels) - mu_y**2
    sxy = _separable_blur(x * y, kernels) - mu_x * mu_y
    c1, c2 = SSIM_K1**2, SSIM_K2**2
    return ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x**2 + mu_y**2 + c1) * (sxx + syy + c2))


def _check_ssim_size(video: np.ndarray) -> None:
    if min(video.shape[1:3]) < SSIM_WINDOW:
        raise InputError("generated", f"frames of {tuple(video.shape[1:3])} are smaller than the "
                         f"{SSIM_WINDOW}×{SSIM_WINDOW} SSIM window", "evaluate at a larger resolution")


def ssim(generated: np.ndarray, reference: np.ndarray) -> float:
    """Per frame and channel SSIM (Gaussian 11×11, σ 1.5, K1 0.01, K2 0.03), averaged."""
    _check_ssim_size(generated)
    g = _gaussian(SSIM_WINDOW, SSIM_SIGMA)
    return float(_ssim_map(generated, reference, {1: g, 2: g}).mean())


def st_ssim(generated: np.ndarray, reference: np.ndarray) -> float:
    """SSIM over 3-frame spatio-temporal blocks, per channel, averaged; NaN for clips under 3 frames."""
    if generated.shape[0] < ST_SSIM_FRAMES:
        return math.nan
    _check_ssim_size(generated)
    g = _gaussian(SSIM_WINDOW, SSIM_SIGMA)
    box = np.full(ST_SSIM_FRAMES, 1.0 / ST_SSIM_FRAMES)
    return float(_ssim_map(generated, reference, {0: box, 1: g, 2: g}).mean())


def _luma(video: np.ndarray) -> np.ndarray:
    if video.shape[-1] == 1:
        return video[..., 0]
    return video[..., :3] @ np.asarray(LUMA)


def _gradient_magnitude(frames: np.ndarray) -> np.ndarray:
    """Prewitt gradient magnitude of ``(N, H, W)`` frames (valid region)."""
    smooth, diff = np.full(3, 1.0 / 3), np.array([1.0, 0.0, -1.0])
    gx = _separable_blur(frames, {1: smooth, 2: diff})
    gy = _separable_blur(frames, {1: diff, 2: smooth})
    return np.sqrt(gx**2 + gy**2)


def gmsd_temporal(generated: np.ndarray, reference: np.ndarray) -> float:
    """Mean over t ≥ 2 of the std of the gradient-magnitude similarity of luma frame differences (lower is better)."""
    if generated.shape[0] < 2:
        return math.nan
    mg = _gradient_magnitude(np.diff(_luma(generated), axis=0))
    mr = _gradient_magnitude(np.diff(_luma(reference), axis=0))
    gms = (2 * mg * mr + GMSD_C) / (mg**2 + mr**2 + GMSD_C)
    return float(gms.reshape(len(gms), -1).std(axis=1).mean())


FULL_REFERENCE_METRICS = {"L1": l1, "PSNR": psnr, "SSIM": ssim, "ST-SSIM": st_ssim, "GMSD-T": gmsd_temporal}


def as_person_masks(masks, frames: int, height: int, width: int) -> np.ndarray:
    """Validated float ``(T, P, H, W)`` masks in ``[0, 1]``; ``(T, H, W)`` is read as one person."""
    array = _as_float64(masks)
    if array.ndim == 3:
        array = array[:, None]
    if array.ndim != 4 or array.shape[0] != frames or array.shape[2:] != (height, width):
        raise InputError("masks", f"expected (T={frames}, persons, H={height}, W={width}), got {array.shape}",
                         "give one mask per frame and person at the video's size")
    return np.clip(array, 0, 1)


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
