"""Context windows: a long clip denoised as overlapping fixed-length windows, averaged per frame (SPEC §1.7).

Motion modules see at most ``motion_max_frames`` (32) positions and memory grows with the frames in one call, so
each step predicts every window separately and a frame's prediction is the mean over the windows that contain it
(Moore ``src/pipelines/context.py`` "uniform" scheduler, ``pipeline_pose2vid_long.py``). Windows start at a
per-step offset (the bit-reversed step index times the clip length), so window seams move from step to step instead
of staying at the same frames; ``shift=False`` keeps the step-0 windows at every step, as Moore's
``pipeline_pose2vid_long.py`` does (it calls ``uniform(step=0)`` at each step; golden-tested). With ``closed_loop`` the last windows wrap around to the first frames; without it
the windows are fixed and the last one ends at the last frame. A clip that
fits in one window is one window — the result is the plain single-call prediction.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from .frame_blend import blend_over_frames

CONTEXT_FRAMES = 24
CONTEXT_OVERLAP = 4


@dataclass(frozen=True)
class ContextSchedule:
    """Window length, overlap between neighbours, and whether windows wrap from the end to the start."""

    frames: int = CONTEXT_FRAMES
    overlap: int = CONTEXT_OVERLAP
    closed_loop: bool = True
    shift: bool = True  # False: the release's behaviour (the same windows at every step)

    def __post_init__(self) -> None:
        if self.frames < 1:
            raise ValueError("context frames must be at least 1")
        if not 0 <= self.overlap < self.frames:
            raise ValueError(f"context overlap must be in [0, {self.frames}), got {self.overlap}")


def bit_reversed_fraction(step: int, bits: int = 64) -> float:
    """``step``'s bits mirrored behind the binary point: 0, 1/2, 1/4, 3/4, 1/8 … (evenly spread offsets)."""
    reversed_bits = int(f"{step:0{bits}b}"[::-1], 2)
    return reversed_bits / (1 << bits)


def context_windows(num_frames: int, step: int, schedule: ContextSchedule = ContextSchedule()) -> list[list[int]]:
    """Frame indices of every window at denoising step ``step``; together they cover all frames."""
    if num_frames < 1:
        raise ValueError("a clip needs at least one frame")
    if num_frames <= schedule.frames:
        return [list(range(num_frames))]
    stride = schedule.frames - schedule.overlap
    if not schedule.closed_loop:  # no wrap-around: fixed windows, the last one flush with the clip's end
        starts = list(range(0, num_frames - schedule.frames, stride)) + [num_frames - schedule.frames]
        return [list(range(s, s + schedule.frames)) for s in starts]
    offset = round(num_frames * bit_reversed_fraction(step)) if schedule.shift else 0
    return [[f % num_frames for f in range(start, start + schedule.frames)]
            for start in range(offset, offset + num_frames, stride)]


WindowPredict = Callable[[torch.Tensor, list[int]], torch.Tensor]


def windowed_prediction(predict: WindowPredict, sample: torch.Tensor, step: int,
                        schedule: ContextSchedule = ContextSchedule(), frame_dim: int = 2) -> torch.Tensor:
    """``predict(sample[window], window)`` for every window, averaged per frame along ``frame_dim``."""
    num_frames = sample.shape[frame_dim]

    def parts():
        for window in context_windows(num_frames, step, schedule):
            index = torch.tensor(window, device=sample.device)
            yield window, predict(sample.index_select(frame_dim, index), window), torch.ones(len(window))

    return blend_over_frames(parts(), num_frames, frame_dim).to(sample.dtype)
