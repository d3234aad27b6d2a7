"""`python -m choreograph pairs`: a generator workflow (here the shipped demo model) re-synthesises each prepared
clip with another reference; the clip becomes a reverse-driving triplet that SCAIL-2 training drives end to end."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from choreograph.cli import main
from choreograph.core.pose.pose_keypoint import save_json, write_pose_keypoint
from choreograph.core.synth import SceneConfig, make_scene
from choreograph.core.synth.dataset import DatasetSpec, write_dataset
from choreograph.training.config import load_config
from choreograph.training.dataset import Clip, list_clips
from choreograph.training.scail2_objective import Scail2Objective
from PIL import Image

WORKFLOW = Path(__file__).resolve().parents[2] / "training" / "workflows" / "pairs_demo_generator.json"


def _reference(folder: Path) -> Path:
    """Another cast than the clips': a synthetic reference image with its poses next to it."""
    scene = make_scene(SceneConfig(characters=2, frames=1, width=64, height=64, seed=999))
    Image.fromarray(scene.reference.frame).save(folder / "other.png")
    save_json(write_pose_keypoint(scene.reference.poses, keep_scores=True), folder / "other.json")
    return folder / "other.png"


def test_pairs_command_adds_generated_driving_videos_that_training_uses(tmp_path, make_config, capsys):
    root = tmp_path / "clips"
    write_dataset(root, DatasetSpec(scenes=2, seed=8, frames=9, width=64, height=64, characters=(2, 2),
                                    choreographies=("dance+swap",), background="plain", lookalike_probability=0.0))
    reference = _reference(tmp_path)
    argv = ["pairs", str(root), "--workflow", str(WORKFLOW), "--reference", str(reference),
            "--output-dir", str(tmp_path / "out")]
    assert main(argv) == 0, capsys.readouterr()
    clips = [Clip(p) for p in list_clips(root)]
    for clip in clips:
        assert clip.meta.driving_mode == "animation"
        target, driving = clip.window(range(9)), clip.driving_window(range(9))
        assert driving.frames.shape == target.frames.shape
        assert np.abs(driving.frames.astype(int) - target.frames.astype(int)).mean() > 3  # another rendering
        assert driving.frames.std(axis=0).mean() > 1  # a video, not a still
        np.testing.assert_array_equal(driving.poses.keypoints, target.poses.keypoints)
    assert main(argv) == 0 and "for 0 clip(s)" in capsys.readouterr().out  # rerun: nothing left to do
    config = load_config(make_config(data={"root": str(root), "frames": 5, "driving_crop_probability": 0.0}))
    objective = Scail2Objective(config, torch.device("cpu"))
    batch = objective.make_batch(clips, np.random.default_rng(0))
    assert bool(batch.rgb_driving.all()) and batch.context.mode == "animation"
    terms = objective(batch, torch.Generator().manual_seed(0))
    assert torch.isfinite(terms["loss"])
