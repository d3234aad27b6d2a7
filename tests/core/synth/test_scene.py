"""The synthetic world's promises: exact, consistent ground truth that the choreographies really produce."""
import time

import numpy as np
import pytest
from choreograph.core.pose import wholebody as wb
from choreograph.core.synth import SceneConfig, make_scene


@pytest.fixture(scope="module")
def dance():
    return make_scene(SceneConfig(characters=3, frames=16, width=128, height=128, choreography="dance", seed=3))


def _scene(choreography, characters=3, frames=48, seed=1, **kw):
    return make_scene(SceneConfig(characters=characters, frames=frames, width=128, height=128,
                                  choreography=choreography, seed=seed, **kw))


def test_layout_of_every_array(dance):
    t, p, h, w = 16, 3, 128, 128
    assert dance.frames.shape == (t, h, w, 3) and dance.frames.dtype == np.uint8
    assert dance.poses.keypoints.shape == (t, p, 133, 3)
    assert dance.poses.track_ids == (0, 1, 2) == dance.identities
    assert dance.poses.depth.shape == (t, p)
    for masks in (dance.masks_full, dance.masks_visible, dance.face_masks, dance.hand_masks):
        assert masks.shape == (t, p, h, w) and masks.dtype == bool
    assert dance.boxes.shape == dance.boxes_full.shape == (t, p, 4)
    assert dance.visibility.shape == (t, p, 133)
    assert dance.reference.frame.shape == (h, w, 3) and dance.reference.masks.shape == (p, h, w)
    assert sorted(dance.reference.order) == [0, 1, 2]
    assert dance.reference.face_masks.any(axis=(1, 2)).all() and dance.reference.hand_masks.any(axis=(1, 2)).all()
    assert not (dance.reference.face_masks & ~dance.reference.masks).any()


def test_same_seed_same_scene_other_seed_other_scene(dance):
    again = make_scene(SceneConfig(characters=3, frames=16, width=128, height=128, choreography="dance", seed=3))
    assert np.array_equal(again.frames, dance.frames)
    assert np.array_equal(again.poses.keypoints, dance.poses.keypoints)
    other = make_scene(SceneConfig(characters=3, frames=16, width=128, height=128, choreography="dance", seed=4))
    assert not np.array_equal(other.frames, dance.frames)


def test_masks_are_consistent(dance):
    assert not (dance.masks_visible & ~dance.masks_full).any()
    assert dance.masks_visible.sum(axis=1).max() <= 1, "a pixel is seen as two people"
    assert not (dance.face_masks & ~dance.masks_visible).any()
    assert not (dance.hand_masks & ~dance.masks_visible).any()
    assert dance.face_masks.any(axis=(2, 3)).all()
    assert dance.hand_masks.any(axis=(2, 3)).mean() > 0.8  # a neighbour's arm may hide a hand now and then


def test_visible_labels_name_the_owner_of_each_pixel(dance):
    labels = dance.visible_labels
    assert labels.shape == (16, 128, 128)
    for p in range(3):
        assert np.array_equal(labels == p, dance.masks_visible[:, p])
    assert np.array_equal(labels == -1, ~dance.masks_visible.any(axis=1))


def test_scene_rejects_inconsistent_arrays(dance):
    from dataclasses import replace

    with pytest.raises(ValueError, match="masks_full"):
        replace(dance, masks_full=dance.masks_full[:, :2])


def test_background_is_static_outside_the_characters(dance):
    empty = ~dance.masks_full.any(axis=1)
    both = empty[0] & empty[-1]
    assert both.mean() > 0.3
    assert np.array_equal(dance.frames[0][both], dance.frames[-1][both])
    assert np.array_equal(dance.reference.frame[both & ~dance.reference.masks.any(0)],
                          dance.frames[0][both & ~dance.reference.masks.any(0)])


def test_confidence_is_visibility_and_visible_points_are_not_covered():
    scene = _scene("cross+dance", characters=3)
    conf = scene.poses.keypoints[..., 2]
    assert np.array_equal(conf > 0, scene.visibility)
    assert set(np.unique(conf)) <= {0.0, 1.0}
    t_idx, p_idx, k_idx = np.nonzero(scene.visibility)
    xy = np.floor(scene.poses.keypoints[t_idx, p_idx, k_idx, :2]).astype(int)
    assert (xy >= 0).all() and (xy[:, 0] < 128).all() and (xy[:, 1] < 128).all()
    owner = scene.masks_visible.argmax(axis=1)[t_idx, xy[:, 1], xy[:, 0]]
    covered = scene.masks_visible.any(axis=1)[t_idx, xy[:, 1], xy[:, 0]]
    nearer = scene.depth_order[t_idx, owner] < scene.depth_order[t_idx, p_idx]
    assert not (covered & (owner != p_idx) & nearer).any(), "a visible keypoint lies on someone nearer"


def test_boxes_bound_the_visible_mask(dance):
    t, p = 5, 1
    ys, xs = np.nonzero(dance.masks_visible[t, p])
    assert tuple(dance.boxes[t, p]) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)


def test_frontal_skeleton_is_anatomically_arranged(dance):
    kp = dance.poses.keypoints[0, 0, :, :2]
    assert kp[wb.LEFT_SHOULDER, 0] > kp[wb.RIGHT_SHOULDER, 0], "person's left is on the image right"
    assert kp[wb.NOSE, 1] < kp[wb.LEFT_SHOULDER, 1] < kp[wb.LEFT_HIP, 1] < kp[wb.LEFT_KNEE, 1] < kp[wb.LEFT_ANKLE, 1]
    face = kp[wb.FACE]
    ears = kp[[wb.LEFT_EAR, wb.RIGHT_EAR]]
    assert face[:, 0].min() >= ears[:, 0].min() - 1 and face[:, 0].max() <= ears[:, 0].max() + 1
    for hand, wrist in ((wb.LEFT_HAND, wb.LEFT_WRIST), (wb.RIGHT_HAND, wb.RIGHT_WRIST)):
        assert np.allclose(kp[hand][0], kp[wrist])
        assert np.linalg.norm(kp[hand] - kp[wrist], axis=1).max() < 0.15 * (kp[wb.LEFT_ANKLE, 1] - kp[wb.NOSE, 1])


def test_dancers_move_their_limbs(dance):
    wrists = dance.poses.keypoints[:, :, [wb.LEFT_WRIST, wb.RIGHT_WRIST], :2]
    travel = np.abs(np.diff(wrists, axis=0)).sum(axis=(0, 2, 3))
    assert (travel > 20).all()


def test_swap_exchanges_positions_and_is_tabled():
    scene = _scene("swap")
    assert scene.swap_table and not scene.swapped_frames[0] and scene.swapped_frames[-1]
    frame, a, b = scene.swap_table[-1]
    order = scene.reference.order
    assert order.index(a) < order.index(b)
    pelvis = scene.poses.keypoints[frame, :, [wb.LEFT_HIP, wb.RIGHT_HIP], 0].mean(axis=0)
    assert pelvis[a] > pelvis[b]
    assert not _scene("dance").swap_table


def test_cross_hides_one_character_completely():
    scene = _scene("cross")
    hidden = (scene.visible_fraction == 0) & scene.present
    assert hidden.sum() >= 5
    assert (scene.poses.keypoints[..., 2][hidden] == 0).all()


def test_exit_and_reentry():
    scene = _scene("exit", frames=72)
    gone = ~scene.present
    who = int(np.flatnonzero(gone.any(axis=0))[0])
    assert scene.present[0, who] and scene.present[-1, who] and gone[:, who].sum() >= 5
    assert (scene.poses.keypoints[gone[:, who], who, :, 2] == 0).all()


def test_fewer_characters_than_the_reference():
    scene = _scene("fewer+dance", characters=4)
    absent = ~scene.present.any(axis=0)
    assert 1 <= absent.sum() <= 3
    assert scene.reference.masks.any(axis=(1, 2)).all(), "the reference still shows everyone"
    assert (scene.poses.keypoints[:, absent] == 0).all()


def test_circle_changes_the_order_repeatedly():
    scene = _scene("circle", frames=96)
    assert 0 < scene.swapped_frames.mean() < 1


def test_sizes_make_very_different_characters():
    scene = _scene("sizes", characters=3)
    heights = scene.boxes_full[0, :, 3] - scene.boxes_full[0, :, 1]
    assert heights.max() / heights.min() > 1.6


def test_characters_look_different_unless_lookalikes():
    scene = make_scene(SceneConfig(characters=4, frames=1, lookalikes=1, seed=5))
    tops = [c.top for c in scene.characters]
    twin = scene.characters[3]
    assert twin.lookalike_of is not None and twin.top == scene.characters[twin.lookalike_of].top
    assert scene.lookalike_pairs == ((twin.lookalike_of, 3),)
    distinct = [np.array(t, float) for t in tops[:3]]
    assert min(np.abs(a - b).sum() for i, a in enumerate(distinct) for b in distinct[i + 1:]) > 40
    assert abs(twin.height / scene.characters[twin.lookalike_of].height - 1) < 0.08


def test_reference_order_is_left_to_right():
    scene = _scene("dance", characters=4, frames=2)
    pelvis_x = scene.reference.poses.keypoints[0, :, [wb.LEFT_HIP, wb.RIGHT_HIP], 0].mean(axis=0)
    assert tuple(int(i) for i in np.argsort(pelvis_x)) == scene.reference.order


def test_depth_order_ranks_nearest_first():
    scene = _scene("circle+dance")
    ranks = np.argsort(scene.poses.depth, axis=1)
    assert (np.take_along_axis(scene.depth_order, ranks, axis=1) == np.arange(3)).all()


def test_generation_is_fast():
    start = time.process_time()
    make_scene(SceneConfig(characters=3, frames=48, width=256, height=256, choreography="dance+swap", seed=0))
    assert time.process_time() - start < 1.5


def _wrist_travel(scene):
    wrists = scene.poses.keypoints[:, :, [wb.LEFT_WRIST, wb.RIGHT_WRIST], :2]
    return np.abs(np.diff(wrists, axis=0)).sum()


def test_speed_and_amplitude_control_the_motion():
    base = _wrist_travel(_scene("dance", frames=24))
    assert _wrist_travel(_scene("dance", frames=24, speed=2.0)) > 1.5 * base
    assert _wrist_travel(_scene("dance", frames=24, amplitude=0.3)) < 0.5 * base
    assert _wrist_travel(_scene("dance", frames=24, amplitude=0.0)) == 0


def test_swap_takes_less_time_when_faster():
    def moving_frames(scene):
        pelvis_x = scene.poses.keypoints[:, :, [wb.LEFT_HIP, wb.RIGHT_HIP], 0].mean(axis=2)
        return (np.abs(np.diff(pelvis_x, axis=0)).max(axis=1) > 0.2).sum()

    slow, fast = _scene("swap", speed=1.0), _scene("swap", speed=2.0)
    assert moving_frames(fast) < 0.7 * moving_frames(slow)
    assert fast.swapped_frames[-1] and slow.swapped_frames[-1]


def test_textured_background_has_structure_plain_has_none():
    plain, textured = _scene("dance", frames=1), _scene("dance", frames=1, background="textured")
    empty = ~plain.masks_full[0].any(axis=0) & ~textured.masks_full[0].any(axis=0)
    assert plain.frames[0][empty].std(axis=0).max() == 0
    assert textured.frames[0][empty].std(axis=0).max() > 5


def test_lookalikes_dance_differently():
    scene = make_scene(SceneConfig(characters=2, frames=24, width=128, height=128, lookalikes=1, seed=9))
    a, b = scene.lookalike_pairs[0]
    wrists = scene.poses.keypoints[:, :, wb.LEFT_WRIST, :2]
    motion = wrists - wrists[0]
    assert np.abs(motion[:, a] - motion[:, b]).max() > 5, "lookalikes need motion as the cue"
