"""EverybodyDance stage 1 on the AnimateAnyone backbone: v-prediction + IMG, frozen motion, release export."""
from __future__ import annotations

from dataclasses import asdict

import pytest
import torch
from choreograph.core.errors import InputError
from choreograph.core.models.animate_anyone.config import TINY
from choreograph.training.config import load_config
from choreograph.training.batch_loader import step_generators
from choreograph.training.trainer import losses, make_batch, optimise, setup, train
from safetensors.torch import load_file

TINY_SIZES = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(TINY).items()}


@pytest.fixture
def ed_config(make_config):
    def build(**sections):
        base = {"model": {"backbone": "everybody_dance", "animate_anyone": TINY_SIZES},
                "data": {"frames": 1, "width": 32, "height": 32, "swap_probability": 1.0},
                "losses": {"img": {"weight": 1.0, "matching_layers": 2},
                           "diffusion": {"reference_dropout": 0.0}}}
        for name, values in sections.items():
            base[name] = {**base.get(name, {}), **values} if isinstance(values, dict) else values
        return load_config(make_config(**base))
    return build


def test_losses_fall_and_img_trains_both_unets(ed_config):
    run = setup(ed_config(train={"learning_rate": 3e-3}))
    batch = make_batch(run, step_generators(0, 0, 0)[0])
    first = losses(run, batch, torch.Generator().manual_seed(1))
    assert float(first["img"].detach()) > 0 and set(first) == {"loss", "diffusion", "img"}
    first["img"].backward(retain_graph=True)
    objective = run.network
    block = objective.blocks[0]
    assert objective.denoising_unet.get_submodule(block).attn1.to_q.weight.grad.abs().sum() > 0
    assert objective.reference_unet.conv_in.weight.grad.abs().sum() > 0  # keys come from the bank
    assert all(p.grad is None for n, p in objective.denoising_unet.named_parameters() if "motion" in n)
    run.optimizer.zero_grad(set_to_none=True)
    history = []
    for _ in range(4):
        terms = losses(run, batch, torch.Generator().manual_seed(1))
        history.append(float(terms["loss"].detach()))
        optimise(run, terms)
    assert history[-1] < history[0]


def test_reference_dropout_trains_the_unconditional_branch_without_img(ed_config):
    run = setup(ed_config(losses={"diffusion": {"reference_dropout": 1.0}}))
    terms = losses(run, make_batch(run, step_generators(0, 0, 0)[0]), torch.Generator().manual_seed(1))
    assert float(terms["img"]) == 0.0 and float(terms["diffusion"].detach()) > 0


def test_export_is_a_release_folder_that_loads_back(ed_config, tmp_path):
    out = train(ed_config(train={"steps": 1}))
    folder = out / "everybody_dance"
    trained = load_file(str(folder / "pose_guider.safetensors"))
    again = setup(ed_config(model={"checkpoint": str(folder)}, output_dir=str(tmp_path / "again")))
    state = again.network.pose_guider.state_dict()
    assert all(torch.equal(state[k], v) for k, v in trained.items())


def test_bad_everybody_dance_configs_are_refused(ed_config, tmp_path):
    with pytest.raises(InputError, match="train.method"):
        setup(ed_config(train={"method": "lora"}))
    with pytest.raises(InputError, match="model.animate_anyone"):
        setup(ed_config(model={"animate_anyone": {"block_out_chanels": [32]}}))
    with pytest.raises(InputError, match="gradient_checkpointing"):
        setup(ed_config(model={"gradient_checkpointing": True}))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="lacks"):
        setup(ed_config(model={"checkpoint": str(tmp_path / "empty")}))
