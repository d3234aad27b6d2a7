"""DreamActor-M2 on a tiny Wan-I2V: in-context composite, left-half flow loss, FFN LoRA in ComfyUI format."""
from __future__ import annotations

import torch
from choreograph.training.config import load_config
from choreograph.training.trainer import losses, make_batch, optimise, setup, step_generators, train
from safetensors.torch import load_file


def _config(make_config, **train):
    return load_config(make_config(model={"backbone": "dreamactor_m2"}, data={"frames": 5, "width": 32, "height": 32},
                                   train={"method": "lora", "learning_rate": 1e-2, **train},
                                   lora={"rank": 4, "alpha": 4}))


def test_composite_batch_and_loss_falls(make_config):
    run = setup(_config(make_config))
    objective = run.network
    batch = make_batch(run, step_generators(0, 0, 0)[0])
    clean, condition, mask, text = batch
    assert text.shape == (1, 512, 16) and not text.any()  # no prompt file: the empty prompt
    assert clean.shape == condition.shape == (1, 16, 2, 4, 8)  # double width
    assert mask.shape == (1, 4, 2, 4, 8)
    assert bool((mask[:, :, 0, :, :4] == 1).all()) and bool((mask[:, :, 1:, :, :4] == 0).all())
    assert bool((mask[..., 4:] == 1).all())  # the driving half is given throughout
    assert objective.transformer.config.in_channels == 36
    history = []
    for _ in range(6):
        terms = losses(run, batch, torch.Generator().manual_seed(4))
        history.append(float(terms["loss"].detach()))
        optimise(run, terms)
    assert history[-1] < history[0]


def test_loss_covers_the_left_half_after_frame_zero_only(make_config):
    run = setup(_config(make_config))
    batch = make_batch(run, step_generators(0, 0, 0)[0])
    clean = batch[0]
    seen = {}
    run.network.transformer.register_forward_hook(lambda m, i, out: seen.update(prediction=out[0]))
    loss = losses(run, batch, torch.Generator().manual_seed(4))["loss"]
    generator = torch.Generator().manual_seed(4)  # the draws forward makes, in its order
    noise = torch.randn(clean.shape, generator=generator)
    error = (seen["prediction"].detach() - (noise - clean)) ** 2
    keep = torch.zeros_like(error)
    keep[:, :, 1:, :, :4] = 1  # left half, latent frames ≥ 1
    assert torch.isclose(loss.detach(), (error * keep).mean(), rtol=1e-5)
    assert not torch.isclose(loss.detach(), error.mean(), rtol=1e-3)


def test_lora_export_targets_the_feed_forward(make_config):
    out = train(_config(make_config, steps=1))
    keys = list(load_file(str(out / "lora.safetensors")))
    assert keys and all(".ffn." in k for k in keys)
