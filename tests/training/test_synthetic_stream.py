"""On-the-fly synthetic training scenes (data.stream): a new cast every sample, exact resume, low-noise σ."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from choreograph.core.errors import InputError
from choreograph.core.losses.flow_matching import (flow_matching_loss, person_loss_weight, perturbed_history,
                                                    sample_sigma, with_low_noise)
from choreograph.core.models.pixel_codec import PixelCodec
from choreograph.core.synth import make_scene
from choreograph.training.checkpoints import latest_checkpoint
from choreograph.training.config import StreamConfig, load_config
from choreograph.training.scail2_batch import SampleOptions, collate
from choreograph.training.scail2_objective import blank_references, reference_keep
from choreograph.training.synthetic_stream import (
    FIRST_TRAINING_SEED,
    SyntheticStream,
    reference_image_pair,
    reverse_driving_scenes,
    scene_config,
)
from choreograph.training.trainer import train
from safetensors.torch import load_file

OPTIONS = SampleOptions(frames=5, width=64, height=64, swap_probability=1.0, bone_scaling_probability=0.0)
STREAM = StreamConfig(scene_frames=16, choreographies=("dance+swap", "swap"), textured_probability=0.5,
                      lookalike_probability=0.5, scene_reference_probability=1.0)
HELD_OUT = {2026, *range(4000, 4004), *range(5000, 5008)}


def test_every_sample_is_a_new_cast_and_never_a_held_out_scene():
    rng = np.random.default_rng(0)
    configs = [scene_config(STREAM, OPTIONS, rng) for _ in range(20)]
    assert all(c.seed >= FIRST_TRAINING_SEED and c.seed not in HELD_OUT for c in configs)
    tops = {make_scene(c).characters[0].top for c in configs[:6]}
    assert len(tops) == 6  # a different cast each time
    assert {c.background for c in configs} == {"plain", "textured"} and {c.lookalikes for c in configs} == {0, 1}
    assert all(c.width == 64 and c.height == 64 for c in configs)


def test_a_reference_image_pair_with_beta_one_lands_after_the_swap():
    scene = make_scene(scene_config(STREAM, OPTIONS, np.random.default_rng(1)))
    b, swapped = reference_image_pair(scene, 5, 1.0, np.random.default_rng(2))
    assert swapped and scene.swapped_frames[b:b + 5].any()


def _batch(stream: SyntheticStream, seed: int, size: int = 2):
    rng = np.random.default_rng(seed)
    return collate([stream.sample(rng) for _ in range(size)])


def test_stream_samples_are_a_pure_function_of_the_generator():
    stream = SyntheticStream(STREAM, OPTIONS, PixelCodec())
    a, b, c = _batch(stream, 7), _batch(stream, 7), _batch(stream, 8)
    assert torch.equal(a.latent, b.latent) and torch.equal(a.context.reference, b.context.reference)
    assert not torch.equal(a.latent, c.latent)
    assert a.latent.shape[0] == 2 and a.gen_masks.shape[-2:] == (64, 64) and bool(a.swapped.all())


def test_reverse_driving_skeletons_come_from_another_cast_doing_the_same_motion():
    config = scene_config(STREAM, OPTIONS, np.random.default_rng(3))
    target, driving = reverse_driving_scenes(config, STREAM)
    assert target.characters[0].top != driving.characters[0].top  # other looks
    assert not np.allclose(target.poses.keypoints, driving.poses.keypoints)  # other bodies
    pelvis = [np.nanmean(s.poses.keypoints[:, :, 11:13, 0], axis=2) for s in (target, driving)]
    assert np.abs(pelvis[0] - pelvis[1]).max() < 0.1 * config.width  # same paths
    stream = SyntheticStream(dataclasses.replace(STREAM, reverse_driving_probability=1.0), OPTIONS, PixelCodec())
    own = SyntheticStream(STREAM, OPTIONS, PixelCodec())
    assert not torch.equal(_batch(stream, 7, 1).context.driving, _batch(own, 7, 1).context.driving)


def test_a_stream_run_trains_without_clips_and_resumes_exactly_with_batches_built_anywhere(make_config, tmp_path):
    stream = {"scene_frames": 12, "choreographies": ["dance+swap"]}
    sections = {"data": {"root": str(tmp_path / "none"), "stream": stream, "workers": 0},
                "losses": {"img": {"weight": 0.1}, "flow": {"low_noise_probability": 0.5}}}
    straight = load_config(make_config(**sections), {"output_dir": str(tmp_path / "straight")})
    split = load_config(make_config(**sections), {"output_dir": str(tmp_path / "split"), "data": {"workers": 1}})
    train(straight)
    train(split, stop_after=2)
    train(split, resume=True)
    a, b = (load_file(str(latest_checkpoint(tmp_path / run / "checkpoints") / "trainable.safetensors"))
            for run in ("straight", "split"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert (tmp_path / "straight" / "model" / "config.json").is_file()


def test_stream_is_refused_where_it_cannot_train(make_config):
    with pytest.raises(InputError, match="data.stream"):
        load_config(make_config(data={"stream": {"scene_frames": 12}}, model={"backbone": "everybody_dance"}))
    with pytest.raises(InputError, match="data.stream.speed"):
        load_config(make_config(data={"stream": {"speed": [1.5, 1.0]}}))


def test_low_noise_sampling_puts_mass_below_the_bound_and_is_a_no_op_at_zero():
    base = sample_sigma(4000, 64, torch.Generator().manual_seed(0))
    assert float((base < 0.3).float().mean()) < 0.25  # why it is needed: the shifted logit-normal rarely goes low
    mixed = with_low_noise(base, torch.Generator().manual_seed(1), 0.4, 0.3)
    share = float((mixed < 0.3).float().mean())
    assert 0.4 < share < 0.7 and float(mixed.min()) > 0
    assert torch.equal(with_low_noise(base, torch.Generator().manual_seed(1), 0.0), base)


def test_person_weight_up_weights_the_flow_error_on_people_only():
    masks = torch.zeros(1, 3, 2, 128, 128)
    masks[0, :, 0, 32:96, 16:48] = 1  # person 0 covers latent rows 4..11, columns 2..5
    masks[0, :, 1, 32:96, 40:72] = 1  # person 1 overlaps person 0 in columns 5: the union counts once
    weight = person_loss_weight(masks, (16, 16), 4.0)
    assert weight.shape == (1, 1, 3, 16, 16)
    assert float(weight[0, 0, 0, 0, 0]) == 1.0 and float(weight[0, 0, 1, 8, 3]) == 5.0
    assert float(weight[0, 0, 2, 8, 5]) == 5.0  # overlap: still 1 + 4, not 1 + 8
    prediction, target = torch.zeros(1, 16, 3, 16, 16), torch.zeros(1, 16, 3, 16, 16)
    background, person = prediction.clone(), prediction.clone()
    background[..., 0, 0] = 1  # one wrong latent pixel in the background
    person[..., 8, 3] = 1  # one wrong latent pixel on a person
    plain = flow_matching_loss(person, target)
    assert torch.isclose(flow_matching_loss(background, target, weight=weight), plain)
    assert torch.isclose(flow_matching_loss(person, target, weight=weight), 5 * plain)


def test_person_weight_is_validated(make_config):
    with pytest.raises(InputError, match="person_weight"):
        load_config(make_config(losses={"flow": {"person_weight": -1}}))


def test_history_noise_perturbs_only_the_history_frames_and_is_a_no_op_at_zero():
    x0 = torch.randn(3, 16, 3, 4, 4)
    same = perturbed_history(x0, 2, torch.Generator().manual_seed(0), 0.0)
    assert same is x0 and perturbed_history(x0, 0, torch.Generator().manual_seed(0), 0.2) is x0
    noisy = perturbed_history(x0, 2, torch.Generator().manual_seed(0), 0.2)
    assert torch.equal(noisy[:, :, 2:], x0[:, :, 2:]) and not torch.equal(noisy[:, :, :2], x0[:, :, :2])
    change = (noisy[:, :, :2] - x0[:, :, :2]).abs().amax(dim=(1, 2, 3, 4))
    assert float(change.max()) < 0.2 * (float(x0.abs().max()) + 5)  # at most σ_h·|ε − x0|, σ_h ≤ 0.2


def test_reference_dropout_blanks_whole_references_and_draws_nothing_at_zero():
    generator = torch.Generator().manual_seed(0)
    assert reference_keep(4, generator, 0.0) is None
    assert torch.equal(generator.get_state(), torch.Generator().manual_seed(0).get_state())  # nothing drawn
    stream = SyntheticStream(STREAM, OPTIONS, PixelCodec())
    context = _batch(stream, 7, 2).context
    keep = torch.tensor([0.0, 1.0])
    blanked = blank_references(context, keep)
    assert not blanked.reference[0].any() and not blanked.reference_mask[0].any()
    assert torch.equal(blanked.reference[1], context.reference[1])
    assert torch.equal(blanked.driving, context.driving)  # only the reference goes
    share = float(reference_keep(4000, torch.Generator().manual_seed(1), 0.25).mean())
    assert 0.72 < share < 0.78
