"""Per-identity masks, checked against the synthetic world's ground-truth silhouettes."""
import numpy as np
import pytest
from choreograph.core.errors import InputError
from choreograph.core.render.masks import (
    IdentityMasks,
    exclusive,
    masks_from_poses,
    match_masks,
    refine,
    split_union,
)
from choreograph.core.synth.config import SceneConfig
from choreograph.core.synth.scene import make_scene

SIZE = 128


@pytest.fixture(scope="module")
def scene():
    return make_scene(SceneConfig(characters=3, frames=8, width=SIZE, height=SIZE, choreography="dance+cross",
                                  seed=3))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a > 0.5, b > 0.5
    return float((a & b).sum() / max(1, (a | b).sum()))


def test_pose_masks_cover_each_true_silhouette(scene):
    body = masks_from_poses(scene.poses, SIZE, SIZE)
    assert body.track_ids == scene.poses.track_ids and body.masks.shape == (8, 3, SIZE, SIZE)
    for p in range(3):
        assert iou(body.masks[:, p], scene.masks_full[:, p]) > 0.6


def test_face_and_hand_regions_cover_the_true_parts(scene):
    face = masks_from_poses(scene.poses, SIZE, SIZE, "face").masks > 0.5
    hands = masks_from_poses(scene.poses, SIZE, SIZE, "hands").masks > 0.5
    assert (face & scene.face_masks).sum() / scene.face_masks.sum() > 0.9
    assert (hands & scene.hand_masks).sum() / scene.hand_masks.sum() > 0.9
    assert face.sum() < (masks_from_poses(scene.poses, SIZE, SIZE).masks > 0.5).sum() / 3


def test_masks_render_at_any_size(scene):
    small = masks_from_poses(scene.poses, SIZE // 2, SIZE // 2)
    assert small.masks.shape[2:] == (SIZE // 2, SIZE // 2)
    assert iou(small.masks[:, 0], scene.masks_full[:, 0, ::2, ::2]) > 0.5


def test_exclusive_masks_give_overlaps_to_the_nearer_person(scene):
    owned = exclusive(masks_from_poses(scene.poses, SIZE, SIZE), scene.poses)
    assert owned.masks.sum(axis=1).max() <= 1
    visible = scene.masks_visible
    agree = [iou(owned.masks[:, p], visible[:, p]) for p in range(3)]
    assert min(agree) > 0.55


def test_segmenter_masks_are_matched_to_identities(scene):
    poses_masks = masks_from_poses(scene.poses, SIZE, SIZE)
    shuffled = scene.masks_full[:, [2, 0, 1]].astype(np.float32)  # a segmenter's own object order
    matched, fallback = match_masks(shuffled, poses_masks)
    assert fallback == ()
    assert np.array_equal(matched.masks > 0.5, scene.masks_full)
    only_two, fallback = match_masks(shuffled[:, :2], poses_masks)
    assert fallback == (1,)  # identity 1 had no segmenter mask: it keeps its pose mask
    assert np.array_equal(only_two.masks[:, 1], poses_masks.masks[:, 1])


def test_a_union_mask_is_split_by_nearest_pose(scene):
    union = scene.masks_full.any(axis=1).astype(np.float32)
    split = split_union(union, masks_from_poses(scene.poses, SIZE, SIZE))
    for p in range(3):
        assert iou(split.masks[:, p], scene.masks_visible[:, p]) > 0.75


def test_bad_masks_are_refused_with_the_input_named(scene):
    poses_masks = masks_from_poses(scene.poses, SIZE, SIZE)
    with pytest.raises(InputError, match="masks"):
        match_masks(np.ones((8, 2, SIZE // 2, SIZE // 2)), poses_masks)
    with pytest.raises(InputError, match="empty"):
        match_masks(np.zeros((8, 2, SIZE, SIZE)), poses_masks)
    with pytest.raises(InputError, match="frames"):
        split_union(np.ones((5, SIZE, SIZE)), poses_masks)
    with pytest.raises(InputError, match="no mask for tracks"):
        poses_masks.select([0, 42])


def test_refine_dilates_and_feathers():
    m = np.zeros((1, 1, 21, 21), np.uint8)
    m[0, 0, 10, 10] = 1
    grown = refine(IdentityMasks(m, (0,)), dilate_px=3).masks[0, 0]
    assert grown[10, 13] == 1 and grown[10, 14] == 0
    soft = refine(IdentityMasks(m, (0,)), dilate_px=3, feather_px=2).masks[0, 0]
    assert 0 < soft[10, 14] < 1 and soft.max() <= 1
    shrunk = refine(IdentityMasks(m, (0,)), dilate_px=-1).masks
    assert not shrunk.any()
