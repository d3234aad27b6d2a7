"""The on-disk clip format: written from the synthetic world, read back lazily, checked on open."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from choreograph.core.errors import InputError
from choreograph.core.synth import make_scene
from choreograph.training.dataset import Clip, list_clips, swap_pairs
from choreograph.training.synthetic import clip_from_scene


def test_round_trip_keeps_frames_masks_poses_and_reference(clip_root, tiny_scene):
    scene = make_scene(tiny_scene)
    clip = Clip(list_clips(clip_root)[0])
    assert clip.meta.frames == 9 and clip.meta.ids == scene.identities
    window = clip.window([2, 5])
    assert np.array_equal(window.frames, scene.frames[[2, 5]])
    assert np.array_equal(window.masks, scene.masks_visible[[2, 5]])
    assert np.array_equal(window.face_masks, scene.face_masks[[2, 5]] & scene.masks_visible[[2, 5]])
    assert np.array_equal(window.hand_masks, scene.hand_masks[[2, 5]] & scene.masks_visible[[2, 5]])
    assert np.allclose(window.poses.keypoints, scene.poses.keypoints[[2, 5]])
    reference = clip.reference()
    assert np.array_equal(reference.frames[0], scene.reference.frame)
    assert np.array_equal(reference.masks[0], scene.reference.masks.astype(bool))


def test_swap_pairs_follow_left_to_right_order():
    masks = np.zeros((3, 2, 4, 8), bool)
    masks[0, 0, :, :2], masks[0, 1, :, 6:] = True, True  # 0 left of 1
    masks[1, 0, :, 6:], masks[1, 1, :, :2] = True, True  # swapped
    masks[2, 0, :, :2] = True  # 1 absent: no order to compare
    assert swap_pairs(masks).tolist() == [[0, 1], [1, 0]]


def test_scene_swaps_appear_in_the_table(clip_root):
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
    arrays = load_file(str(clip / "poses.safetensors"))
    arrays["keypoints"] = arrays["keypoints"][:, :1].copy()  # one identity's track is missing
    save_file(arrays, str(clip / "poses.safetensors"))
    with pytest.raises(InputError, match="inconsistent"):
        Clip(clip)


def test_partial_clip_and_empty_folder_are_refused(clip_root, tmp_path):
    clip = _copy(clip_root, tmp_path)
    (clip / "frames" / "000004.png").unlink()
    with pytest.raises(InputError, match="8 frames files"):
        Clip(clip)
    meta = json.loads((clip / "meta.json").read_text())
    (clip / "meta.json").write_text(json.dumps({**meta, "format": "other"}))
    with pytest.raises(InputError, match="not a choreograph-clip"):
        Clip(clip)
    with pytest.raises(InputError, match="holds no clips"):
        list_clips(tmp_path / "data" / clip.name / "frames")


def test_existing_clip_is_not_overwritten(clip_root, tiny_scene):
    from choreograph.training.dataset import write_clip

    with pytest.raises(InputError, match="already exists"):
        write_clip(clip_from_scene(make_scene(tiny_scene)), list_clips(clip_root)[0])
