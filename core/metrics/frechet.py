"""The Fréchet distance between Gaussians fitted to two feature sets: the formula behind FID, FVD and FVMD."""
from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg

from ..errors import InputError


def gaussian_stats(features: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (unbiased) covariance of ``(N, D)`` features; needs at least 2 samples."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise InputError(name, f"needs at least 2 feature vectors to fit a Gaussian, got shape {features.shape}",
                         "evaluate more frames, clips or videos")
    if not np.all(np.isfinite(features)):
        raise InputError(name, "features contain NaN or inf", "check the feature network's input")
    return features.mean(axis=0), np.cov(features, rowvar=False).reshape(features.shape[1], features.shape[1])


def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> float:
    """``||μ1 − μ2||² + Tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^½)``; a tiny ridge is added when the product is singular."""
    diff = mu1 - mu2
    with warnings.catch_warnings():  # a singular product is expected (e.g. constant features) and handled below
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean, _ = linalg.sqrtm(cov1 @ cov2, disp=False)
    if not np.all(np.isfinite(covmean)):
        ridge = np.eye(len(cov1)) * 1e-6
        covmean = linalg.sqrtm((cov1 + ridge) @ (cov2 + ridge))
    covmean = np.real(covmean)
    distance = float(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2 * np.trace(covmean))
    return max(distance, 0.0)  # round-off can dip below the true minimum 0


def frechet_between(features_a: np.ndarray, features_b: np.ndarray, name: str = "features") -> float:
    """Fréchet distance between the Gaussians of two ``(N, D)`` feature sets."""
    return frechet_distance(*gaussian_stats(features_a, f"{name} (first set)"),
                            *gaussian_stats(features_b, f"{name} (second set)"))
