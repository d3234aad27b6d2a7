"""DanceTogether on tiny StableAnimator/SVD files: masked EDM reconstruction trains UNet, adapter and face encoder."""
from __future__ import annotations

import pytest
import torch
from _support import load_helper
from choreograph.core.errors import InputError
from choreograph.core.models.loading import DtypePolicy
from choreograph.core.models.stable_animator.loader import load_dance_together
from choreograph.training.config import load_config
from choreograph.training.batch_loader import step_generators
from choreograph.training.trainer import losses, make_batch, optimise, setup, train


@pytest.fixture(scope="module")
def dance_files(tmp_path_factory) -> dict[str, str]:
    module = load_helper("core/models/stable_animator/tiny_dance.py")
    return {k: str(v) for k, v in module.write_files(tmp_path_factory.mktemp("dance")).items()}


@pytest.fixture
def dt_config(make_config, dance_files):
    def build(**train):
        return load_config(make_config(model={"backbone": "dance_together", "dance_together": dance_files},
                                       data={"frames": 5, "width": 64, "height": 64},
                                       train={"learning_rate": 1e-3, **train}))
    return build


def test_loss_falls_and_every_trained_part_gets_gradients(dt_config):
    run = setup(dt_config())
    batch = make_batch(run, step_generators(0, 0, 0)[0])
    history = []
    for step in range(4):
        terms = losses(run, batch, torch.Generator().manual_seed(3))
        history.append(float(terms["loss"].detach()))
        if step == 0:
            run.accelerator.backward(terms["loss"], retain_graph=True)
            objective = run.network
            for part in (objective.unet.conv_in, objective.adapter.integrate, objective.face_encoder.norm):
                assert part.weight.grad.abs().sum() > 0
            run.optimizer.zero_grad(set_to_none=True)
        optimise(run, terms)
    assert history[-1] < history[0]


def test_export_loads_with_the_dance_together_loader(dt_config, dance_files):
    out = train(dt_config(steps=1))
    folder = out / "dance_together"
    model = load_dance_together(folder / "unet", folder / "pose_net.safetensors",
                                folder / "face_encoder.safetensors", dance_files["svd_folder"],
                                DtypePolicy(torch.float32))
    assert model.adapter.config.people == 2


def test_missing_parts_are_refused(make_config, dance_files):
    parts = {k: v for k, v in dance_files.items() if k != "face_encoder"}
    config = load_config(make_config(model={"backbone": "dance_together", "dance_together": parts}))
    with pytest.raises(InputError, match="face_encoder"):
        setup(config)
