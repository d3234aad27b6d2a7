"""Context windows for long clips: coverage, overlap, and exact agreement with one call when nothing differs."""
from __future__ import annotations

import pytest
import torch
from choreograph.core.sampling.context_windows import (
    ContextSchedule,
    bit_reversed_fraction,
    context_windows,
    windowed_prediction,
)


def test_short_clip_is_one_window():
    assert context_windows(20, step=5) == [list(range(20))]
    assert context_windows(24, step=3) == [list(range(24))]


@pytest.mark.parametrize("frames", [25, 48, 61, 100])
@pytest.mark.parametrize("step", [0, 1, 2, 7])
@pytest.mark.parametrize("closed", [True, False])
def test_windows_cover_every_frame_with_full_length_windows(frames, step, closed):
    schedule = ContextSchedule(24, 4, closed)
    windows = context_windows(frames, step, schedule)
    assert all(len(w) == 24 and len(set(w)) == 24 for w in windows)
    assert set().union(*map(set, windows)) == set(range(frames))
    if not closed:
        assert all(w == list(range(w[0], w[0] + 24)) for w in windows)


def test_neighbouring_windows_overlap_and_offsets_move_between_steps():
    first = context_windows(60, 0)
    assert first[0][:4] == list(range(4)) and first[1][:4] == first[0][-4:]
    assert context_windows(60, 1)[0][0] == 30  # bit-reversed 1 = 1/2 of the clip
    assert [bit_reversed_fraction(s) for s in range(4)] == [0.0, 0.5, 0.25, 0.75]


def test_frame_independent_prediction_is_unchanged_by_windowing():
    sample = torch.randn(1, 4, 37, 2, 2)
    calls = []

    def predict(x: torch.Tensor, window: list[int]) -> torch.Tensor:
        calls.append(x.shape[2])
        return torch.sin(x) * 3

    for step in range(3):
        out = windowed_prediction(predict, sample, step, ContextSchedule(8, 3))
        torch.testing.assert_close(out, torch.sin(sample) * 3)
    assert max(calls) == 8  # memory per call is bounded by the window, not the clip


def test_overlapping_frames_are_averaged():
    sample = torch.zeros(1, 1, 6, 1, 1)
    schedule = ContextSchedule(4, 2, closed_loop=False)  # windows [0..3], [2..5]
    out = windowed_prediction(lambda x, w: torch.full_like(x, float(w[0])), sample, 0, schedule)
    assert out.flatten().tolist() == [0.0, 0.0, 1.0, 1.0, 2.0, 2.0]


def test_bad_schedules_are_rejected():
    with pytest.raises(ValueError):
        ContextSchedule(4, 4)
    with pytest.raises(ValueError):
        ContextSchedule(0, 0)
