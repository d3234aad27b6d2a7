"""Bias-Aware DPO end to end in the synthetic world (renderer = generator): `preferences` builds pairs as
Appendix B does, they differ only where the hands were degraded, and DPO trains conditioned on V_d."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from choreograph.cli import main
from choreograph.core.errors import InputError
from choreograph.core.pose import wholebody as wb
from choreograph.core.sampling.scail2 import half_size
from choreograph.core.synth.preferences import HandDegradation, degrade_hands
from choreograph.training.config import load_config
from choreograph.training.dataset import Clip
from choreograph.training.trainer import losses, make_batch, optimise, setup, step_generators

HAND_POINTS = np.r_[wb.LEFT_HAND, wb.RIGHT_HAND]


@pytest.fixture(scope="module")
def preference_set(tmp_path_factory):
    out = tmp_path_factory.mktemp("preferences")
    assert main(["preferences", str(out), "--count", "3", "--seed", "2", "--frames", "9"]) == 0
    rows = json.loads((out / "preferences.json").read_text())
    return out, [(Clip(out / r["win"]), Clip(out / r["lose"])) for r in rows]


def _hand_region(keypoints: list[np.ndarray], pad: float) -> np.ndarray:
    """``(T, H, W)`` union of the boxes of every hand point (any confidence) of both poses, ``pad`` px wider."""
    t = keypoints[0].shape[0]
    region = np.zeros((t, 64, 64), bool)
    for kp in keypoints:
        for f in range(t):
            for person in kp[f]:
                for hand in wb.HANDS:
                    pts = person[hand, :2]
                    if not pts.any():
                        continue
                    (x0, y0), (x1, y1) = pts.min(0) - pad, pts.max(0) + pad
                    region[f, max(0, int(np.floor(y0))):int(np.ceil(y1)) + 1,
                           max(0, int(np.floor(x0))):int(np.ceil(x1)) + 1] = True
    return region


def test_preference_pairs_differ_only_in_the_degraded_hands(preference_set):
    _, pairs = preference_set
    for win, lose in pairs:
        every = range(win.meta.frames)
        w, l = win.window(every), lose.window(every)
        # same reference identity, same global motion: only hand keypoints moved
        body = np.setdiff1d(np.arange(133), HAND_POINTS[1:])
        np.testing.assert_array_equal(w.poses.keypoints[:, :, body, :2], l.poses.keypoints[:, :, body, :2])
        assert not np.allclose(w.poses.keypoints[:, :, HAND_POINTS, :2], l.poses.keypoints[:, :, HAND_POINTS, :2])
        # the same driving video V_d conditions both
        np.testing.assert_array_equal(win.driving_window(every).frames, lose.driving_window(every).frames)
        changed = (w.frames != l.frames).any(-1)
        assert changed.sum() > 0
        region = _hand_region([w.poses.keypoints, l.poses.keypoints], pad=1.0)
        assert not (changed & ~region).any()  # nothing outside the hands changed
        assert changed.sum() < 0.05 * changed.size


def test_degradation_model_is_configurable_and_leaves_wrists():
    kp = np.random.default_rng(0).uniform(10, 50, size=(5, 2, 133, 3)).astype(np.float32)
    none = degrade_hands(kp, np.random.default_rng(1), HandDegradation(probability=0.0))
    np.testing.assert_array_equal(none, kp)
    strong = degrade_hands(kp, np.random.default_rng(1), HandDegradation(jitter=0.5, collapse_probability=1.0))
    roots = [wb.LEFT_HAND.start, wb.RIGHT_HAND.start]
    np.testing.assert_array_equal(strong[..., roots, :], kp[..., roots, :])
    assert np.abs(strong - kp)[..., HAND_POINTS, :2].mean() > 1.0
    with pytest.raises(InputError):
        HandDegradation(collapse=1.5)


def test_dpo_conditions_on_the_driving_video_and_learns_the_preference(make_config, preference_set):
    root, pairs = preference_set
    config = load_config(make_config(data={"root": str(root), "swap_probability": 0.0},
                                     train={"method": "dpo", "learning_rate": 1e-2},
                                     lora={"rank": 4, "alpha": 4, "targets": ["ffn.0", "ffn.2", "self_attn.o"]},
                                     losses={"dpo": {"beta": 100.0, "sft_weight": 0.1}}))
    run = setup(config)
    batch = make_batch(run, step_generators(0, 0, 0)[0])
    assert bool(batch.win.rgb_driving.all()) and batch.win.context.mode == "animation"
    encoded = [run.network.codec.encode(half_size(torch.from_numpy(w.driving_window(range(b, b + 5)).frames)
                                                  .float() / 255)) for w, _ in pairs for b in range(5)]
    assert any(torch.allclose(batch.win.context.driving, e) for e in encoded)  # V_d, not a skeleton
    assert 0 < float(batch.hands.mean()) < 0.5
    first = losses(run, batch, torch.Generator().manual_seed(2))
    assert math.isclose(float(first["dpo"].detach()), math.log(2), rel_tol=1e-5)
    terms = first
    for _ in range(6):
        optimise(run, terms)
        terms = losses(run, batch, torch.Generator().manual_seed(2))
    assert float(terms["dpo"].detach()) < math.log(2)
