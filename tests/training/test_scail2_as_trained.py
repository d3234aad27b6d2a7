"""SCAIL-2 trained as the paper trains it: reverse-driving triplets driven end to end by the RGB video (or the
skeleton), animation and replacement mixed with the official mask conventions, prompt and CLIP tokens as at
inference, IMG off unless asked for."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from choreograph.core.conditioning.binding_slots import BASE_CHANNELS
from choreograph.core.sampling.scail2 import half_size
from choreograph.training.config import load_config
from choreograph.training.dataset import Clip, list_clips
from choreograph.training.scail2_objective import Scail2Objective
from choreograph.training.trainer import step_generators
from safetensors.torch import save_file

SWITCH = [c * BASE_CHANNELS for c in range(4)]  # the white environment-switch channel of each folded sub-frame


def _objective(make_config, root, **data):
    config = load_config(make_config(data={"root": str(root), "frames": 5, **data}, losses={"img": {}}))
    return Scail2Objective(config, torch.device("cpu")), [Clip(p) for p in list_clips(root)]


def _seen_by_model(objective, batch):
    """Run the loss and return the context and mask-embedding inputs the transformer actually received."""
    seen = {"mask_inputs": []}
    net = objective.transformer
    hooks = [net.register_forward_pre_hook(lambda m, args, kwargs: seen.update(kwargs, args=args), with_kwargs=True),
             net.patch_embedding_mask.register_forward_pre_hook(lambda m, args: seen["mask_inputs"].append(args[0]))]
    try:
        objective(batch, torch.Generator().manual_seed(0))
    finally:
        for hook in hooks:
            hook.remove()
    return seen


def test_mode_mix_and_environment_switch_reach_the_model(make_config, triplet_root):
    objective, clips = _objective(make_config, triplet_root, replacement_probability=0.5)
    modes = {}
    for step in range(24):
        batch = objective.make_batch(clips, step_generators(0, step, 0)[0])
        modes.setdefault(batch.context.mode, batch)
    assert set(modes) == {"animation", "replacement"}
    for mode, batch in modes.items():
        seen = _seen_by_model(objective, batch)
        ctx = seen["context"]
        assert ctx.mode == mode
        driving_switch = float(ctx.driving_mask[:, SWITCH].mean())
        reference_switch = float(ctx.reference_mask[:, SWITCH].mean())
        if mode == "replacement":  # environment from the driving video: driving mask on white, reference on black
            assert driving_switch > 0.3 and reference_switch == 0
        else:  # environment from the reference: reference mask on white, driving on black
            assert reference_switch > 0.3 and driving_switch == 0
        # the switch enters the network through the mask embedding (reference and driving groups)
        assert any(float(x[:, SWITCH].amax()) > 0 for x in seen["mask_inputs"])
    never = _objective(make_config, triplet_root, replacement_probability=0.0)[0]
    assert all(never.make_batch(clips, step_generators(0, s, 0)[0]).context.mode == "animation" for s in range(12))


def test_rgb_driving_video_is_encoded_end_to_end_or_replaced_by_the_skeleton(make_config, triplet_root):
    objective, clips = _objective(make_config, triplet_root, replacement_probability=0.0, driving_crop_probability=0.0,
                                  rgb_driving_probability=1.0, bone_scaling_probability=0.0)
    from choreograph.training import scail2_batch

    clip = next(c for c in clips if c.meta.driving_mode == "animation")
    sample = scail2_batch.pair_sample(clip, objective.codec, objective.options, np.random.default_rng(0), (0, 2, False))
    driving = torch.from_numpy(clip.driving_window(range(2, 7)).frames).float() / 255
    assert bool(sample.rgb_driving.all())
    torch.testing.assert_close(sample.context.driving, objective.codec.encode(half_size(driving)))
    skeleton_options = dataclasses.replace(objective.options, rgb_driving_probability=0.0)
    skeleton = scail2_batch.pair_sample(clip, objective.codec, skeleton_options, np.random.default_rng(0),
                                        (0, 2, False))
    assert not bool(skeleton.rgb_driving.any())
    assert (skeleton.context.driving - sample.context.driving).abs().mean() > 0.05
    # mixed by config: about half of the animation samples are skeleton-driven
    mixed = _objective(make_config, triplet_root, replacement_probability=0.0, rgb_driving_probability=0.5)[0]
    flags = [bool(mixed.make_batch(clips, step_generators(0, s, 0)[0]).rgb_driving[0]) for s in range(30)]
    assert 5 <= sum(flags) <= 25


def test_prompt_embedding_and_clip_tokens_reach_the_model(make_config, triplet_root, tmp_path):
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    clip_config = CLIPVisionConfig(hidden_size=64, intermediate_size=32, num_hidden_layers=2, num_attention_heads=1,
                                   patch_size=8, image_size=32, projection_dim=8, hidden_act="gelu")
    torch.manual_seed(0)
    save_file({k: v.contiguous() for k, v in CLIPVisionModelWithProjection(clip_config).state_dict().items()},
              str(tmp_path / "clip.safetensors"))
    positive, empty = torch.randn(7, 16), torch.randn(3, 16)
    save_file({"positive": positive, "empty": empty}, str(tmp_path / "text.safetensors"))
    arch = {"dim": 32, "num_layers": 1, "ffn_dim": 64, "head_dim": 16, "text_dim": 16, "freq_dim": 16,
            "image_dim": 64}
    for dropout, want in ((0.0, positive), (1.0, empty)):
        config = load_config(make_config(
            model={"arch": arch, "clip_vision": str(tmp_path / "clip.safetensors")},
            data={"root": str(triplet_root), "frames": 5, "text_embeddings": str(tmp_path / "text.safetensors"),
                  "text_dropout": dropout}))
        objective = Scail2Objective(config, torch.device("cpu"))
        clips = [Clip(p) for p in list_clips(triplet_root)]
        batch = objective.make_batch(clips, np.random.default_rng(0))
        seen = _seen_by_model(objective, batch)
        text, image = seen["args"][2], seen["args"][3]  # (latent, timestep, text, image)
        assert text.shape == (1, 512, 16) and torch.equal(text[0, :len(want)], want) and not text[0, len(want):].any()
        expected = objective.prompt.encoder.encode(batch.reference_pixels[0])
        assert image.shape == (1, 17, 64) and torch.allclose(image, expected)


def test_img_is_off_by_default_for_scail2_and_optional(make_config, triplet_root, tmp_path):
    config = load_config(make_config(data={"root": str(triplet_root), "frames": 5}, losses={"img": {}}))
    assert config.losses.img.weight == 0
    assert Scail2Objective(config, torch.device("cpu")).probe is None
    with_img = load_config(make_config(data={"root": str(triplet_root), "frames": 5},
                                       losses={"img": {"weight": 0.2}}))
    assert Scail2Objective(with_img, torch.device("cpu")).probe is not None
    ed = load_config(make_config(model={"backbone": "everybody_dance"}, losses={"img": {}}))
    assert ed.losses.img.weight == pytest.approx(0.1)


def test_crop_and_stretch_keeps_masks_on_their_people(triplet_root):
    from choreograph.training.scail2_batch import crop_stretch

    clip = next(Clip(p) for p in list_clips(triplet_root))
    window = clip.driving_window(range(5))
    out = crop_stretch(window, np.random.default_rng(1))
    assert out.frames.shape == window.frames.shape and out.masks.shape == window.masks.shape
    assert not np.array_equal(out.frames, window.frames)  # zoomed in
    assert out.masks.sum() > window.masks.sum()  # people grow with the stretch
    background = window.frames[0][~window.masks[0].any(0)].mean(0)
    person = out.frames[out.masks.any(1)].astype(float)
    assert np.abs(person - background).sum(-1).mean() > 20  # masked pixels are people, not background


def test_reverse_driving_run_resumes_exactly(make_config, triplet_root, tmp_path):
    from choreograph.training.trainer import train
    from safetensors.torch import load_file

    data = {"root": str(triplet_root), "frames": 5, "replacement_probability": 0.5, "rgb_driving_probability": 0.5}
    straight = load_config(make_config(data=data, train={"steps": 4}, losses={"img": {}}),
                           {"output_dir": str(tmp_path / "straight")})
    split = load_config(make_config(data=data, train={"steps": 4}, losses={"img": {}}),
                        {"output_dir": str(tmp_path / "split")})
    train(straight)
    train(split, stop_after=2)
    train(split, resume=True)
    a, b = (load_file(str(tmp_path / run / "checkpoints" / "step_0000004" / "trainable.safetensors"))
            for run in ("straight", "split"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
