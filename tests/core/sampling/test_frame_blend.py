"""Putting per-window predictions back together: a weighted mean per frame, nothing left uncovered."""
from __future__ import annotations

import pytest
import torch

from choreograph.core.sampling.frame_blend import blend_over_frames


def test_weighted_mean_per_frame_along_the_chosen_axis():
    a = torch.full((1, 3, 2), 1.0)  # frames 0..2
    b = torch.full((1, 2, 2), 4.0)  # frames 2..3
    out = blend_over_frames([([0, 1, 2], a, torch.tensor([1.0, 1.0, 1.0])), ([2, 3], b, torch.tensor([2.0, 1.0]))],
                            total=4, frame_dim=1)
    assert out[0, :, 0].tolist() == pytest.approx([1.0, 1.0, 3.0, 4.0])  # frame 2: (1·1 + 4·2) / 3


def test_dtype_is_kept_and_a_single_part_is_returned_unchanged():
    x = torch.randn(2, 4, 5, dtype=torch.float64)
    out = blend_over_frames([(range(5), x, torch.ones(5))], total=5, frame_dim=2)
    assert out.dtype == torch.float64 and torch.allclose(out, x)


def test_uncovered_frames_are_an_error_not_a_division_by_zero():
    with pytest.raises(ValueError, match="covered"):
        blend_over_frames([([0, 1], torch.ones(1, 2), torch.ones(2))], total=3, frame_dim=1)
