"""The shipped EverybodyDance stage-2 and DanceTogether part-only configs run at tiny size on CPU, train only
their parts, and export folders the loaders accept."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from choreograph.core.models.animate_anyone import keys
from choreograph.core.models.animate_anyone.loader import AnimateAnyoneFiles, load_animate_anyone
from choreograph.core.models.loading import DtypePolicy
from choreograph.core.models.stable_animator.fresh import new_dance_together
from choreograph.core.models.stable_animator.loader import load_dance_together
from choreograph.training.config import load_config
from choreograph.training.trainer import train

CONFIGS = Path(__file__).resolve().parents[2] / "training" / "configs"
RELEASE = ("reference_unet", "denoising_unet", "motion_module", "pose_guider", "vae", "image_encoder")


def _quick(tmp_path: Path, clip_root: Path, name: str, **extra) -> dict:
    return {"output_dir": str(tmp_path / name), "data": {"root": str(clip_root), "synthetic": None},
            "train": {"steps": 2, "checkpoint_every": 2, "learning_rate": 1e-2}, **extra}


def test_everybody_dance_stage_1_then_stage_2(tmp_path, clip_root):
    stage1 = train(load_config(CONFIGS / "tiny_everybody_dance.yaml", _quick(tmp_path, clip_root, "s1")))
    first = stage1 / "everybody_dance"
    config = load_config(CONFIGS / "ed_stage2_motion_tiny.yaml",
                         _quick(tmp_path, clip_root, "s2", model={"checkpoint": str(first)},
                                data={"root": str(clip_root), "synthetic": None, "frames": 5}))
    second = train(config) / "everybody_dance"
    files = {n: AnimateAnyoneFiles(**{k: f / f"{k}.safetensors" for k in RELEASE},
                                   ref_pose_guider=f / "ref_pose_guider.safetensors") for n, f in
             (("s1", first), ("s2", second))}
    before = load_animate_anyone(files["s1"], torch.float32).denoising_unet.state_dict()
    after = load_animate_anyone(files["s2"], torch.float32).denoising_unet.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(keys.is_motion_key(k) for k in changed)  # stage 2 moved only motion modules


@pytest.mark.parametrize(("name", "parts"), [("dt_adapter_tiny.yaml", {"adapter"}),
                                             ("dt_multiface_tiny.yaml", {"face_encoder"}),
                                             ("dt_both_tiny.yaml", {"adapter", "face_encoder"})])
def test_dance_together_part_only_configs(tmp_path, clip_root, name, parts):
    config = load_config(CONFIGS / name, _quick(tmp_path, clip_root, "dt"))
    assert set(config.model.trainable) == parts
    folder = train(config) / "dance_together"
    loaded = load_dance_together(folder / "unet", folder / "pose_net.safetensors",
                                 folder / "face_encoder.safetensors", folder / "svd", DtypePolicy(torch.float32))
    fresh = new_dance_together(config.model.dance_together["sizes"], config.seed)
    for part in ("unet", "adapter", "face_encoder"):
        ours, start = getattr(loaded, part).state_dict(), getattr(fresh, part).state_dict()
        same = all(torch.equal(ours[k], start[k].to(ours[k].dtype)) for k in start)
        assert same == (part not in parts), part
