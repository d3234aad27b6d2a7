"""The per-frame weighted mean that every long-video schedule ends with (windows, tiles): ``Σ w·x / Σ w``.

Context windows (uniform weights) and SVD tiles (triangular weights) differ in which frames they group and how
they weigh them, not in how predictions are put back together; that part lives here once.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch

Part = tuple[Sequence[int], torch.Tensor, torch.Tensor]  # frame indices, prediction on them, weight per frame


def blend_over_frames(parts: Iterable[Part], total: int, frame_dim: int) -> torch.Tensor:
    """Weighted mean per frame of predictions made on frame subsets; accumulated in float32, returned in the
    predictions' dtype. Every frame must be covered by some part with positive weight."""
    blended: torch.Tensor | None = None
    weight_sum: torch.Tensor | None = None
    dtype = None
    for frames, prediction, weights in parts:
        index = torch.as_tensor(list(frames), device=prediction.device)
        if blended is None:
            shape = list(prediction.shape)
            shape[frame_dim] = total
            blended = prediction.new_zeros(shape, dtype=torch.float32)
            weight_sum = torch.zeros(total, dtype=torch.float32, device=prediction.device)
            dtype = prediction.dtype
        view = [1] * prediction.dim()
        view[frame_dim] = len(index)
        weights = weights.to(prediction.device, torch.float32)
        blended.index_add_(frame_dim, index, prediction.float() * weights.reshape(view))
        weight_sum.index_add_(0, index, weights)
    if blended is None:
        raise ValueError("nothing to blend: no frame groups were given")
    if bool((weight_sum <= 0).any()):
        raise ValueError("some frames are covered by no window or tile")
    view = [1] * blended.dim()
    view[frame_dim] = total
    return (blended / weight_sum.reshape(view)).to(dtype)
