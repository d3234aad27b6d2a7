"""EverybodyDance stage 2: only the motion modules train, on multi-frame windows of multi-character clips, and the
export is a Moore-layout motion module our loader reads back exactly."""
from __future__ import annotations

from dataclasses import asdict

import pytest
import torch
from _support import load_helper
from choreograph.core.errors import InputError
from choreograph.core.models.animate_anyone import keys
from choreograph.core.models.animate_anyone.config import TINY
from choreograph.core.models.animate_anyone.loader import AnimateAnyoneFiles, load_animate_anyone
from choreograph.training.config import load_config
from choreograph.training.batch_loader import step_generators
from choreograph.training.trainer import losses, make_batch, optimise, setup, train
from safetensors.torch import load_file

TINY_SIZES = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(TINY).items()}
golden = load_helper("core/models/golden_support.py")


@pytest.fixture
def stage2(make_config):
    def build(**model):
        return load_config(make_config(
            model={"backbone": "everybody_dance", "animate_anyone": TINY_SIZES, "trainable": ["motion_modules"],
                   **model},
            data={"frames": 5, "width": 32, "height": 32, "swap_probability": 1.0},
            train={"learning_rate": 3e-3, "steps": 2},
            losses={"img": {"weight": 1.0, "matching_layers": 2}, "diffusion": {"reference_dropout": 0.0}}))
    return build


def test_only_motion_modules_learn_from_clips(stage2):
    run = setup(stage2())
    objective = run.network
    batch = make_batch(run, step_generators(0, 0, 0)[0])
    assert batch.target.shape[0] == 5 and batch.gen_masks.shape[0] == 5 and batch.reference.shape[0] == 1
    trainable = {n for n, p in objective.named_parameters() if p.requires_grad}
    assert trainable and all(keys.is_motion_key(n) for n in trainable)
    frozen = {n: p.detach().clone() for n, p in objective.named_parameters() if not p.requires_grad}
    motion = {n: p.detach().clone() for n, p in objective.named_parameters() if p.requires_grad}
    history = []
    for _ in range(4):
        terms = losses(run, batch, torch.Generator().manual_seed(1))
        assert not terms["img"].requires_grad and float(terms["img"]) > 0  # IMG is monitored, not trained
        history.append(float(terms["loss"].detach()))
        optimise(run, terms)
    assert history[-1] < history[0]
    after = dict(objective.named_parameters())
    assert all(torch.equal(after[n], v) for n, v in frozen.items())
    assert any(not torch.equal(after[n], v) for n, v in motion.items())


def test_export_is_a_moore_motion_module_read_back_exactly(stage2, tmp_path):
    out = train(stage2())
    folder = out / "everybody_dance"
    names = ("reference_unet", "denoising_unet", "motion_module", "pose_guider", "vae", "image_encoder")
    loaded = load_animate_anyone(AnimateAnyoneFiles(**{n: folder / f"{n}.safetensors" for n in names},
                                                    ref_pose_guider=folder / "ref_pose_guider.safetensors"),
                                 dtype=torch.float32)
    exported = load_file(str(folder / "motion_module.safetensors"))
    assert all(keys.is_motion_key(k) and ".temporal_transformer." in k for k in exported)  # Moore/AnimateDiff names
    state = loaded.denoising_unet.state_dict()
    for name, value in exported.items():
        ours = keys.motion_to_diffusers(name)
        assert torch.equal(state[ours or keys.motion_to_diffusers(keys.duplicate_of(name))], value)
    reference = golden.golden_folder("animate_anyone")
    if reference is not None and (reference / "motion_module.safetensors").is_file():
        official = load_file(str(reference / "motion_module.safetensors"))  # Moore's own key names, same sizes
        assert set(exported) == set(official)


def test_unknown_part_and_too_long_windows_are_named(stage2):
    with pytest.raises(InputError, match="model.trainable"):
        setup(stage2(trainable=["motion_module"]))
    sizes = {**TINY_SIZES, "motion_max_frames": 4}
    with pytest.raises(InputError, match="data.frames"):
        setup(stage2(animate_anyone=sizes))
