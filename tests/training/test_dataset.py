"""Clips on disk (docs/dataset_format.md layout): synthetic scenes and prepared clips read lazily, checked on open."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from choreograph.core.errors import InputError
from choreograph.core.synth import make_scene
from choreograph.training.dataset import Clip, ClipData, list_clips, swap_pairs, write_clip


def test_synthetic_scene_reads_back_frames_masks_poses_and_reference(clip_root, tiny_dataset):
    scene = make_scene(tiny_dataset.scene_config(0))
    clip = Clip(list_clips(clip_root)[0])
    assert clip.meta.frames == 9 and clip.meta.ids == scene.identities and clip.meta.fps == scene.config.fps
    window = clip.window([2, 5])
    assert np.array_equal(window.frames, scene.frames[[2, 5]])
    assert np.array_equal(window.masks, scene.masks_visible[[2, 5]])
    assert np.array_equal(window.face_masks, scene.face_masks[[2, 5]])
    assert np.array_equal(window.hand_masks, scene.hand_masks[[2, 5]])
    assert np.allclose(window.poses.keypoints, scene.poses.keypoints[[2, 5]])
    reference = clip.reference()
    assert np.array_equal(reference.frames[0], scene.reference.frame)
    assert np.array_equal(reference.masks[0], scene.reference.masks)


def test_prepared_clip_round_trip(tmp_path, tiny_dataset):
    scene = make_scene(tiny_dataset.scene_config(1))
    data = ClipData(scene.frames, scene.masks_visible, scene.face_masks, scene.hand_masks, scene.poses, 12.0)
    clip = Clip(write_clip(data, tmp_path / "clip"))
    window = clip.window(range(9))
    assert clip.meta.fps == 12.0 and clip.reference() is None
    assert np.array_equal(window.frames, scene.frames) and np.array_equal(window.hand_masks, scene.hand_masks)
    assert np.allclose(window.poses.keypoints, scene.poses.keypoints)
    with pytest.raises(InputError, match="already exists"):
        write_clip(data, tmp_path / "clip")


def test_swap_pairs_follow_left_to_right_order():
    masks = np.zeros((3, 2, 4, 8), bool)
    masks[0, 0, :, :2], masks[0, 1, :, 6:] = True, True  # 0 left of 1
    masks[1, 0, :, 6:], masks[1, 1, :, :2] = True, True  # swapped
    masks[2, 0, :, :2] = True  # 1 absent: no order to compare
    assert swap_pairs(masks).tolist() == [[0, 1], [1, 0]]


def test_scene_swaps_appear_in_the_pairs(clip_root):
    clip = Clip(list_clips(clip_root)[0])
    pairs = {tuple(p) for p in clip.meta.swap_pairs.tolist()}
    assert pairs and all((b, a) in pairs for a, b in pairs)  # symmetric


def _copy(clip_root, tmp_path):
    source = list_clips(clip_root)[0]
    target = tmp_path / "data" / source.name
    shutil.copytree(source, target)
    return target


def test_inconsistent_tracks_are_refused(clip_root, tmp_path):
    clip = _copy(clip_root, tmp_path)
    with np.load(clip / "poses.npz") as poses:
        arrays = dict(poses)
    arrays["keypoints"] = arrays["keypoints"][:, :1]  # one identity's track is missing
    np.savez(clip / "poses.npz", **arrays)
    with pytest.raises(InputError, match="inconsistent"):
        Clip(clip)


def test_partial_clip_and_empty_folder_are_refused(clip_root, tmp_path):
    clip = _copy(clip_root, tmp_path)
    (clip / "frames" / "000004.png").unlink()
    with pytest.raises(InputError, match="8 frame files"):
        Clip(clip)
    meta = json.loads((clip / "scene.json").read_text())
    (clip / "scene.json").write_text(json.dumps({**meta, "format": "other"}))
    with pytest.raises(InputError, match="not a version-1 clip"):
        Clip(clip)
    (clip / "masks.npz").write_bytes(b"broken")
    (clip / "scene.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="unreadable"):
        Clip(clip)
    with pytest.raises(InputError, match="holds no clips"):
        list_clips(clip / "frames")
