"""Interop with native ComfyUI both ways, on the golden data:

* our colour masks through native WanSCAILToVideo's mask path (reproduced exactly, see test_scail2_masks) give the
  same 28-channel tensors our own sampler builds from them;
* native SCAIL2ColoredMask output (animation and replacement backgrounds) is accepted by our sampler and read as
  native reads it.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from _support import load_helper
from choreograph.core.conditioning.binding_slots import (binding_slots, colour_mask_video, driving_mask28,
                                                          reference_mask28, to_native_layout)
from choreograph.core.conditioning.characters import build_characters
from choreograph.core.conditioning.identity import assign_identities
from choreograph.core.conditioning import scail2_native as native
from choreograph.core.render.masks import IdentityMasks
from choreograph.core.sampling.scail2 import Scail2Video, generate_scail2, usable_frames
from choreograph.core.sampling.solvers import FlowSettings
from choreograph.core.sampling.wan_prompt import WanPrompt
from choreograph.core.synth import SceneConfig, make_scene

G = load_helper("golden/golden_sets.py")
ENV, NAME, MASKS = "CHOREOGRAPH_GOLDEN_SCAIL2", "scail2", "mask_cases.json"
pytestmark = pytest.mark.golden


@pytest.fixture(scope="module")
def store():
    return G.case_tensors(ENV, NAME, MASKS)


@pytest.mark.parametrize("mode", ["animation", "replacement"])
def test_our_colour_masks_through_natives_path_equal_what_our_sampler_builds(mode):
    scene = make_scene(SceneConfig(characters=3, frames=9, width=64, height=96, seed=5))
    identity = assign_identities(scene.poses)
    masks = IdentityMasks(scene.masks_visible, scene.identities)
    pose_video_mask = colour_mask_video(masks, identity, scene.poses, mode)
    characters = build_characters(scene.reference.frame.astype(np.float32) / 255, scene.reference.poses,
                                  scene.poses, identity)
    reference_image_mask = characters.reference_colour_mask(mode)
    height, width = pose_video_mask.shape[1:3]
    as_image = torch.from_numpy(pose_video_mask).float() / 255
    native_driving = native.driving_mask28_native(as_image, width, height)
    native_reference = native.reference_masks28_native(torch.from_numpy(reference_image_mask)[None].float() / 255,
                                                       width, height)
    for downsample in ("bilinear", "area"):
        ours = binding_slots(pose_video_mask, reference_image_mask, mode, downsample)
        assert torch.equal(to_native_layout(ours.driving), native_driving)
        assert torch.equal(to_native_layout(ours.reference), native_reference)
    assert bool(native_reference[0, 0, 0].any()) == (mode == "animation")  # white "keep the scene" switch


def _same_size(case: dict) -> bool:
    return (case["source_H"], case["source_W"]) == (case["gen_height"], case["gen_width"])


@pytest.mark.parametrize("case", G.case_params(ENV, NAME, MASKS, "driving_mask_path"))
def test_our_sampler_reads_a_generation_size_driving_mask_as_native(store, case):
    if not _same_size(case):
        pytest.skip("the mask is resized by native first; our sampler takes masks at the generation size")
    video = G.image(store, case["input"]["key"])
    expected = store[case["output"]["key"]]
    for downsample in ("bilinear", "area"):
        assert torch.equal(to_native_layout(driving_mask28(video, downsample)), expected)


@pytest.mark.parametrize("case", G.case_params(ENV, NAME, MASKS, "reference_mask_path"))
def test_our_sampler_reads_a_generation_size_reference_mask_as_native(store, case):
    if not _same_size(case):
        pytest.skip("the mask is resized by native first; our sampler takes masks at the generation size")
    images = G.image(store, case["input"]["key"])
    ours = torch.cat([to_native_layout(reference_mask28(image)) for image in images], dim=1)
    assert torch.equal(ours, store[case["output"]["key"]])


def _upscale_to_32(image: np.ndarray) -> np.ndarray:
    """Nearest ×k so both sides are multiples of 32 (what our sampler needs); colours are unchanged."""
    height, width = image.shape[-3:-1]
    factor = 32 // math.gcd(32, math.gcd(height, width))
    return image.repeat(factor, axis=-3).repeat(factor, axis=-2)


@pytest.mark.parametrize("case", G.case_params(ENV, NAME, MASKS, "colour_mask_rendering"))
def test_native_colour_masks_are_accepted_by_our_sampler(store, case, tiny_scail2, tiny_codec):
    mode = "replacement" if case["replacement_mode"] else "animation"
    drive = G.stored_render(store, case, "pose_video_mask")
    drive = drive[: usable_frames(drive.shape[0])]
    reference = G.stored_render(store, case, "reference_image_mask")[0]
    if reference.shape[:2] != drive.shape[1:3]:  # a plain-mask reference keeps its own size; native resizes it
        resized = native.center_resize(torch.from_numpy(reference)[None].float(), drive.shape[2], drive.shape[1],
                                       "nearest-exact")
        reference = resized[0].round().to(torch.uint8).numpy()
    slots = binding_slots(drive, reference, mode)  # the background checks pass in the official mode
    assert torch.equal(to_native_layout(slots.reference), native.extract_mask28(reference[None]))
    assert torch.equal(to_native_layout(slots.driving),
                       native.extract_mask28(native.center_resize(torch.from_numpy(drive).float() / 255,
                                                                  drive.shape[2] // 2, drive.shape[1] // 2, "area")))
    big_drive, big_ref = _upscale_to_32(drive), _upscale_to_32(reference)
    g = torch.Generator().manual_seed(0)
    frames = torch.rand(big_drive.shape[0], *big_drive.shape[1:3], 3, generator=g)
    video = Scail2Video(frames[0], frames, torch.from_numpy(big_ref).float() / 255,
                        torch.from_numpy(big_drive).float() / 255, mode)
    prompt = WanPrompt(torch.randn(1, 4, 32, generator=g), torch.zeros(1, 2, 32), torch.randn(1, 3, 24, generator=g))
    out = generate_scail2(tiny_scail2, tiny_codec, video, prompt, FlowSettings(steps=1, solver="euler"))
    assert out.shape == frames.shape and torch.isfinite(out).all()
