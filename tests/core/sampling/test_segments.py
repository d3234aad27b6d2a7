"""Long videos as overlapping segments: planning, mirror padding and stitching (SPEC §3.6)."""
from __future__ import annotations

import pytest
import torch
from choreograph.core.sampling.segments import generate_segments, plan_segments


def test_long_video_plan_uses_stride_76_and_covers_every_frame_once():
    plans = plan_segments(160, 81, 5)
    assert [p.frames[0] for p in plans] == [0, 76, 152]
    assert all(len(p.frames) == 81 for p in plans)
    assert [p.keep_from for p in plans] == [0, 5, 5]
    assert sum(p.keep_count for p in plans) == 160
    assert plans[2].frames[:8] == (152, 153, 154, 155, 156, 157, 158, 159)
    assert plans[2].frames[8:11] == (158, 157, 156)  # tail padded by mirroring, not dropped


def test_short_video_is_padded_to_4k_plus_1():
    (plan,) = plan_segments(10, 81, 5)
    assert len(plan.frames) == 13 and plan.frames[9:] == (9, 8, 7, 6)
    assert (plan.keep_from, plan.keep_count) == (0, 10)
    with pytest.raises(ValueError, match="4k\\+1"):
        plan_segments(100, 80, 5)


def test_stitching_drops_repeated_history_and_hands_over_the_tail():
    handed = []

    def run(plan, previous):
        handed.append(None if previous is None else previous.flatten().tolist())
        return torch.tensor(plan.frames, dtype=torch.float32)[:, None]  # "generate" the frame indices

    out = generate_segments(30, run, segment=13, history=5)
    assert out.flatten().tolist() == list(range(30))
    assert handed[0] is None and handed[1] == [8.0, 9.0, 10.0, 11.0, 12.0]
