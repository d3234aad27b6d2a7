"""Long videos as overlapping frame tiles that all share frame 0, blended by weight at every step (SPEC §2.6).

StableAnimator's long-video rule: tiles of 16 frames overlapping by 4, each ``[0, i+1, …, i+15]`` for
``i = 0, 12, 24, …`` (frame 0 is always in, as the anchor that keeps appearance fixed), one last tile for the
tail, and a triangular weight over positions in a tile. Unlike ``segments`` (continuation from generated
history), every tile is denoised at every step and the predictions are averaged, so tiles agree as they go.
Unlike ``context_windows`` (AnimateAnyone: uniform mean, windows shifted every step, no shared frame) the tiles
are fixed, anchored on frame 0 and weighted towards their centre — the schedule SVD-based checkpoints were run with.
"""
from __future__ import annotations

from collections.abc import Callable

import torch

from .frame_blend import blend_over_frames

TILE_FRAMES = 16
TILE_OVERLAP = 4


def plan_tiles(total: int, tile: int = TILE_FRAMES, overlap: int = TILE_OVERLAP) -> list[tuple[int, ...]]:
    """Frame indices of each tile; a clip that fits in one tile is one tile of all its frames."""
    if total < 1:
        raise ValueError("a video needs at least one frame")
    if tile < 2 or not 0 <= overlap < tile - 1:
        raise ValueError(f"tile {tile} / overlap {overlap}: need tile ≥ 2 and 0 ≤ overlap < tile − 1")
    if total <= tile:
        return [tuple(range(total))]
    stride = tile - overlap
    tiles = [(0, *range(start + 1, start + tile)) for start in range(0, total - tile + 1, stride)]
    if tiles[-1][-1] < total - 1:
        tiles.append((0, *range(total - tile + 1, total)))
    return tiles


def tile_weights(length: int, tile: int = TILE_FRAMES) -> torch.Tensor:
    """Triangular weight of the first ``length`` positions of a tile: ``min((k+½)·2/tile, 2 − (k+½)·2/tile)``."""
    ramp = (torch.arange(length, dtype=torch.float32) + 0.5) * 2.0 / tile
    return torch.minimum(ramp, 2.0 - ramp)


def blend_tiles(run: Callable[[tuple[int, ...]], torch.Tensor], total: int, tile: int = TILE_FRAMES,
                overlap: int = TILE_OVERLAP) -> torch.Tensor:
    """Weighted average over tiles of ``run(frames)`` → ``(B, len(frames), ...)``; returns ``(B, total, ...)``."""
    parts = ((frames, run(frames), tile_weights(len(frames), tile)) for frames in plan_tiles(total, tile, overlap))
    return blend_over_frames(parts, total, frame_dim=1)
