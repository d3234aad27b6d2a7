"""`prepare` stores ArcFace identity vectors per track when an ArcFace ONNX is given, and lists clips without."""
from __future__ import annotations

import numpy as np
from _support import load_helper
from choreograph.cli import main
from choreograph.core.pose.pose_keypoint import save_json, write_pose_keypoint
from choreograph.core.synth import SceneConfig, make_scene
from choreograph.training.dataset import Clip, list_clips
from choreograph.training.face_vectors import clip_faces
from PIL import Image

SCENE = SceneConfig(characters=2, frames=3, width=256, height=256, choreography="dance", seed=4)


def _videos(root, scene) -> None:
    folder = root / "dance"
    folder.mkdir(parents=True)
    for t, frame in enumerate(scene.frames):
        Image.fromarray(frame).save(folder / f"{t:04d}.png")
    save_json(write_pose_keypoint(scene.poses, keep_scores=True), root / "dance.json")


def test_prepare_embeds_faces_with_arcface_and_records_clips_without(tmp_path, capsys):
    scene = make_scene(SCENE)
    _videos(tmp_path / "videos", scene)
    onnx = load_helper("core/faces/tiny_arcface.py").tiny_arcface(tmp_path / "glintr100.onnx")
    assert main(["prepare", str(tmp_path / "videos"), str(tmp_path / "clips"), "--arcface", onnx]) == 0
    clip = Clip(list_clips(tmp_path / "clips")[0])
    faces = clip_faces(clip.meta.path, clip.meta.ids)
    assert faces.source == "arcface" and faces.vectors.shape == (2, 512)
    assert faces.found.all() and np.linalg.norm(faces.vectors, axis=1).min() > 1  # both faces visible here
    assert not np.allclose(faces.vectors[0], faces.vectors[1])  # each track its own face
    assert main(["prepare", str(tmp_path / "videos"), str(tmp_path / "plain")]) == 0  # no ArcFace model
    assert "dance: no ArcFace model" in (tmp_path / "plain" / "without_faces.txt").read_text()
    plain = Clip(list_clips(tmp_path / "plain")[0])
    none = clip_faces(plain.meta.path, plain.meta.ids)
    assert none.source == "none" and not none.found.any() and not none.vectors.any()
