"""`python -m choreograph prepare`: videos (here frame folders with POSE_KEYPOINT poses) become training clips."""
from __future__ import annotations

import numpy as np
from choreograph.cli import main
from choreograph.core.pose.pose_keypoint import save_json, write_pose_keypoint
from choreograph.core.synth import SceneConfig, make_scene
from choreograph.training.dataset import Clip, list_clips
from PIL import Image

SCENE = SceneConfig(characters=2, frames=6, width=64, height=64, choreography="dance+swap", seed=4)


def _video_folder(root, name: str, scene, with_poses: bool = True) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    for t, frame in enumerate(scene.frames):
        Image.fromarray(frame).save(folder / f"{t:04d}.png")
    if with_poses:
        save_json(write_pose_keypoint(scene.poses, keep_scores=True), root / f"{name}.json")


def test_prepare_writes_clips_whose_masks_follow_the_tracks(tmp_path, capsys):
    scene = make_scene(SCENE)
    _video_folder(tmp_path / "videos", "dance", scene)
    assert main(["prepare", str(tmp_path / "videos"), str(tmp_path / "clips")]) == 0
    assert "2 identities" in capsys.readouterr().out
    clip = Clip(list_clips(tmp_path / "clips")[0])
    assert clip.meta.frames == 6 and clip.meta.ids == scene.identities
    window = clip.window(range(6))
    assert np.array_equal(window.frames, scene.frames)
    assert not (window.masks.sum(1) > 1).any()  # exclusive: one owner per pixel
    for p in range(2):  # each identity's pose mask overlaps its true silhouette far more than the other's
        own = (window.masks[:, p] & scene.masks_visible[:, p]).sum()
        other = (window.masks[:, p] & scene.masks_visible[:, 1 - p]).sum()
        assert own > 3 * other
    assert window.face_masks.any() and not (window.face_masks & ~window.masks).any()
    assert main(["prepare", str(tmp_path / "videos"), str(tmp_path / "clips")]) == 0  # existing clips kept
    assert "exists" in capsys.readouterr().out


def test_prepare_without_poses_or_models_says_what_is_missing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    _video_folder(tmp_path / "videos", "solo", make_scene(SCENE), with_poses=False)
    assert main(["prepare", str(tmp_path / "videos"), str(tmp_path / "clips"),
                 "--models-dir", str(tmp_path / "models")]) == 2
    out = capsys.readouterr().err  # errors go to stderr, every missing file named at once
    assert "yolox_l.onnx" in out and "dw-ll_ucoco_384.onnx" in out
    assert not (tmp_path / "clips").exists()
    assert main(["prepare", str(tmp_path / "empty"), str(tmp_path / "clips")]) == 2
    assert "is not a folder" in capsys.readouterr().err
