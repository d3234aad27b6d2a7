"""Reverse-driving triplets: two casts, one motion; the environment follows the mode."""
from __future__ import annotations

import numpy as np
import pytest
from choreograph.core.synth.pairs import TripletSpec, make_triplet

SPEC = TripletSpec(characters=(2, 2), frames=24, width=64, height=64, choreographies=("dance+swap",),
                   background="plain", lookalike_probability=0.0)


def _background(frames: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Pixels no one ever covers (a plain background is one colour)."""
    free = ~masks.any(axis=(0, 1)) if masks.ndim == 4 else ~masks.any(axis=0)
    return frames.reshape(-1, *frames.shape[-3:])[0][free]


@pytest.mark.parametrize("mode", ["animation", "replacement"])
def test_driving_and_target_are_different_casts_doing_the_same_motion(mode):
    triplet = make_triplet(7, SPEC, mode)
    driving, target = triplet.driving, triplet.target
    assert triplet.mode == mode
    # the same motion: identical joint positions and the same swap; silhouettes differ only by clothes and hair
    np.testing.assert_array_equal(driving.poses.keypoints[..., :2], target.poses.keypoints[..., :2])
    assert target.swap_table and driving.swap_table == target.swap_table
    overlap = (driving.masks_full & target.masks_full).sum() / (driving.masks_full | target.masks_full).sum()
    assert overlap > 0.7
    # different people: other clothes, and the person pixels differ
    assert all(a.top != b.top and a.identity == b.identity for a, b in zip(driving.characters, target.characters))
    people = target.masks_visible.any(axis=1)
    assert np.abs(driving.frames[people].astype(int) - target.frames[people].astype(int)).mean() > 20
    # the reference shows the target's cast
    assert triplet.reference is target.reference


def test_animation_takes_the_environment_from_the_reference_and_replacement_from_the_driving_video():
    for seed in range(3):
        anim, repl = make_triplet(seed, SPEC, "animation"), make_triplet(seed, SPEC, "replacement")
        a_d, a_t = _background(anim.driving.frames, anim.driving.masks_full), _background(anim.target.frames,
                                                                                          anim.target.masks_full)
        a_r = _background(anim.reference.frame[None], anim.reference.masks)
        assert (a_t[0] == a_r[0]).all() and not (a_t[0] == a_d[0]).all()
        r_d, r_t = _background(repl.driving.frames, repl.driving.masks_full), _background(repl.target.frames,
                                                                                          repl.target.masks_full)
        r_r = _background(repl.reference.frame[None], repl.reference.masks)
        assert (r_t[0] == r_d[0]).all() and not (r_t[0] == r_r[0]).all()


def test_full_occlusion_is_shared_and_other_bodies_keep_the_choreography():
    spec = TripletSpec(characters=(2, 2), frames=72, width=64, height=64, choreographies=("cross",),
                       background="plain", lookalike_probability=0.0)
    triplet = make_triplet(3, spec, "animation")
    hidden = triplet.target.masks_full.any(axis=(2, 3)) & ~triplet.target.masks_visible.any(axis=(2, 3))
    assert hidden.any()  # someone is completely hidden at some point, in both videos
    hidden_driving = triplet.driving.masks_full.any(axis=(2, 3)) & ~triplet.driving.masks_visible.any(axis=(2, 3))
    assert (hidden & hidden_driving).sum() >= 0.8 * hidden.sum()
    other = make_triplet(5, TripletSpec(**{**SPEC.__dict__, "same_bodies": False}), "animation")
    pelvis = lambda s: s.poses.keypoints[:, :, [11, 12], 0].mean(-1)  # noqa: E731
    np.testing.assert_allclose(pelvis(other.driving), pelvis(other.target), atol=1e-3)
    assert not np.allclose(other.driving.poses.keypoints[..., :2], other.target.poses.keypoints[..., :2])


def test_triplets_are_a_function_of_the_seed_and_the_mode_mix_follows_the_spec():
    a, b = make_triplet(11, SPEC), make_triplet(11, SPEC)
    np.testing.assert_array_equal(a.driving.frames, b.driving.frames)
    assert a.mode == b.mode
    mixed = TripletSpec(**{**SPEC.__dict__, "frames": 5, "replacement_probability": 0.5})
    modes = [make_triplet(s, mixed).mode for s in range(40)]
    assert 8 <= modes.count("replacement") <= 32
    tensors = a.tensors()
    assert tensors["driving"].shape == (24, 64, 64, 3) and tensors["driving_masks"].shape == (24, 2, 64, 64)
    assert float(tensors["target"].max()) <= 1.0 and tensors["reference"].shape == (64, 64, 3)
