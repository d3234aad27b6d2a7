"""DreamActor-M2 as the paper trains it: stage 1 skeletons with bone-length scaling AND box normalisation,
stage 2 end to end on the RGB driving video of reverse-driving pairs."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from choreograph.core.errors import InputError
from choreograph.core.pose.augment import keypoint_box
from choreograph.training.config import load_config
from choreograph.training.dataset import Clip, list_clips, resize_window
from choreograph.training.dreamactor_objective import DreamActorObjective
from choreograph.training.trainer import losses, make_batch, optimise, setup, step_generators


def _objective(make_config, root, **data):
    config = load_config(make_config(model={"backbone": "dreamactor_m2"},
                                     data={"root": str(root), "frames": 5, "width": 32, "height": 32, **data},
                                     train={"method": "lora"}, lora={"rank": 4, "alpha": 4}))
    return DreamActorObjective(config, torch.device("cpu")), [Clip(p) for p in list_clips(root)]


def test_stage_one_poses_are_bone_scaled_and_box_normalised(make_config, clip_root):
    objective, clips = _objective(make_config, clip_root, bone_scaling_probability=0.0, box_jitter=0.0)
    clip = clips[0]
    poses, reference = clip.poses(range(2, 9)), clip.poses([0])
    out = objective.driving_poses(poses, reference, np.random.default_rng(0))
    for column in range(poses.num_people):
        box, target = keypoint_box(out.keypoints[:, column]), keypoint_box(reference.keypoints[0, column])
        # the clip box fits the reference person's box: centred, one side touching
        np.testing.assert_allclose((box[:2] + box[2:]) / 2, (target[:2] + target[2:]) / 2, atol=1e-3)
        assert np.isclose(box[2:] - box[:2], target[2:] - target[:2], atol=1e-3).any()
    scaled = _objective(make_config, clip_root, bone_scaling_probability=1.0, box_normalisation=False)[0]
    moved = scaled.driving_poses(poses, reference, np.random.default_rng(0))
    forearm = lambda kp: np.linalg.norm(kp[:, :, 9, :2] - kp[:, :, 7, :2], axis=-1)  # noqa: E731
    assert not np.allclose(forearm(moved.keypoints), forearm(poses.keypoints), rtol=0.02)


def test_stage_two_drives_with_the_rgb_video_of_reverse_driving_pairs(make_config, triplet_root, clip_root):
    objective, clips = _objective(make_config, triplet_root, driving="rgb")
    clip = clips[0]
    clean, given, mask, reference = objective._composite(clip, np.random.default_rng(3))
    window = clean[:, :, 32:]  # the driving half of the clean composite
    assert any(np.allclose(window, resize_window(clip.driving_window(range(b, b + 5)), 32, 32).frames / 255.0)
               for b in range(5))  # the RGB driving video of the pair (some 5-frame window of it)
    assert window.mean() > 0.2  # people on a background, not a skeleton on black
    config_run = setup(objective.config)
    batch = make_batch(config_run, step_generators(0, 0, 0)[0])
    terms = losses(config_run, batch, torch.Generator().manual_seed(0))
    optimise(config_run, terms)
    assert torch.isfinite(terms["loss"])
    with pytest.raises(InputError, match="no driving video"):
        rgb_on_plain, plain = _objective(make_config, clip_root, driving="rgb")
        rgb_on_plain._composite(plain[0], np.random.default_rng(0))
