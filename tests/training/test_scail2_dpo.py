"""Bias-Aware DPO post-training of a SCAIL-2 LoRA on a preference pair whose dispreferred clip has broken hands."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from choreograph.core.errors import InputError
from choreograph.core.pose import wholebody as wb
from choreograph.core.pose.sequence import PoseSequence
from choreograph.core.synth import make_scene
from choreograph.training.config import load_config
from choreograph.training.dataset import ClipData, write_clip
from choreograph.training.trainer import losses, make_batch, optimise, setup, step_generators


@pytest.fixture(scope="module")
def preference_root(tmp_path_factory, tiny_dataset):
    """A preferred synthetic clip and a dispreferred copy: hands repainted as noise, hand keypoints displaced."""
    root = tmp_path_factory.mktemp("preferences")
    scene = make_scene(tiny_dataset.scene_config(0))
    write_clip(ClipData(scene.frames, scene.masks_visible, scene.face_masks, scene.hand_masks, scene.poses, 24.0),
               root / "good")
    frames = scene.frames.copy()
    hands = scene.hand_masks.any(1)
    frames[hands] = np.random.default_rng(0).integers(0, 255, (int(hands.sum()), 3), dtype=np.uint8)
    keypoints = scene.poses.keypoints.copy()
    for hand in wb.HANDS:
        keypoints[:, :, hand, :2] += 3.0
    poses = PoseSequence(keypoints, scene.poses.track_ids, scene.poses.width, scene.poses.height)
    write_clip(ClipData(frames, scene.masks_visible, scene.face_masks, scene.hand_masks, poses, 24.0),
               root / "bad_hands")
    (root / "preferences.json").write_text(json.dumps([{"win": "good", "lose": "bad_hands"}]))
    return root


def test_dpo_starts_at_log_two_and_learns_the_preference(make_config, preference_root):
    config = load_config(make_config(data={"root": str(preference_root), "swap_probability": 0.0},
                                     train={"method": "dpo", "learning_rate": 1e-2},
                                     lora={"rank": 4, "alpha": 4, "targets": ["ffn.0", "ffn.2", "self_attn.o"]},
                                     losses={"dpo": {"beta": 100.0, "sft_weight": 0.1}}))
    run = setup(config)
    batch = make_batch(run, step_generators(0, 0, 0)[0])
    assert batch.hands.sum() > 0 and batch.hands.shape[:2] == (1, 1)
    first = losses(run, batch, torch.Generator().manual_seed(2))
    assert math.isclose(float(first["dpo"].detach()), math.log(2), rel_tol=1e-5)  # LoRA B = 0: model == base
    terms = first
    for _ in range(6):
        optimise(run, terms)
        terms = losses(run, batch, torch.Generator().manual_seed(2))
    assert float(terms["dpo"].detach()) < math.log(2) and float(terms["implicit_accuracy"]) == 1.0


def test_dpo_needs_preference_pairs(make_config, clip_root):
    with pytest.raises(InputError, match="preferences.json"):
        setup(load_config(make_config(train={"method": "dpo"})))
