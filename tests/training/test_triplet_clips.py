"""Reverse-driving triplets on disk: written by data.synthetic.pairs, read back by the training clips."""
from __future__ import annotations

import numpy as np
import pytest
from choreograph.core.errors import InputError
from choreograph.core.synth.pairs import make_triplet
from choreograph.training.config import SyntheticConfig
from choreograph.training.dataset import Clip, list_clips
from choreograph.training.synthetic import triplet_seed, triplet_spec, write_synthetic


def test_triplet_clips_round_trip_and_pair_other_people_with_the_same_motion(tmp_path):
    config = SyntheticConfig(clips=3, characters=2, frames=9, width=64, height=64, choreography="dance+swap",
                             seed=4, pairs=True, replacement_probability=0.5)
    write_synthetic(tmp_path, config)
    clips = [Clip(p) for p in list_clips(tmp_path)]
    assert len(clips) == 3
    for index, clip in enumerate(clips):
        triplet = make_triplet(triplet_seed(4, index), triplet_spec(config))
        assert clip.meta.driving_mode == triplet.mode
        target, driving = clip.window(range(9)), clip.driving_window(range(9))
        np.testing.assert_array_equal(target.frames, triplet.target.frames)
        np.testing.assert_array_equal(driving.frames, triplet.driving.frames)
        np.testing.assert_array_equal(driving.masks, triplet.driving.masks_visible)
        np.testing.assert_array_equal(driving.poses.keypoints[..., :2], target.poses.keypoints[..., :2])
        assert np.abs(driving.frames.astype(int) - target.frames.astype(int)).mean() > 5
        np.testing.assert_array_equal(clip.reference().frames[0], triplet.reference.frame)
    write_synthetic(tmp_path, config)  # reused as it is
    with pytest.raises(InputError, match="other settings"):
        write_synthetic(tmp_path, SyntheticConfig(**{**vars(config), "seed": 5}))
