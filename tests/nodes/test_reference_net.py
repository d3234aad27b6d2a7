"""ReferenceNet (EverybodyDance) nodes headless: tiny release files in models/animate_anyone, encode, sample with
the IMG diagnostic, decode."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from _support import load_helper
from choreograph.core.conditioning.characters import Character, CharacterSet
from choreograph.core.conditioning.identity import IdentityMap
from choreograph.core.errors import InputError
from choreograph.core.models.animate_anyone.export import save_release
from choreograph.core.render.masks import IdentityMasks
from choreograph.nodes.reference_net import (
    ChoreoReferenceNetDecode,
    ChoreoReferenceNetEncode,
    ChoreoReferenceNetLoader,
    ChoreoReferenceNetSampler,
)

SIZE, FRAMES = 16, 3


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("models")
    tiny = load_helper("core/models/animate_anyone/tiny_animate_anyone.py")
    save_release(tiny.tiny_models(seed=5), root / "animate_anyone")
    return root


@pytest.fixture
def loaded(release, monkeypatch):
    monkeypatch.setenv("CHOREOGRAPH_MODELS_DIR", str(release))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return ChoreoReferenceNetLoader().run("reference_unet.safetensors", "denoising_unet.safetensors",
                                          "motion_module.safetensors", "pose_guider.safetensors",
                                          "ref_pose_guider.safetensors", "vae.safetensors",
                                          "image_encoder.safetensors", "fp32", "cpu")


def _characters() -> tuple[CharacterSet, IdentityMasks]:
    left = np.zeros((SIZE, SIZE), np.float32)
    left[:, : SIZE // 2] = 1
    right = 1 - left
    image = np.random.default_rng(0).random((SIZE, SIZE, 3)).astype(np.float32)
    chars = tuple(Character(track, ref, slot, image, mask, (0, 0, SIZE, SIZE))
                  for track, ref, slot, mask in ((7, 0, 0, left), (9, 1, 1, right)))
    characters = CharacterSet(chars, image, np.stack([left, right]), IdentityMap((7, 9), (0, 1)))
    driving = np.stack([np.stack([right, left])] * FRAMES).astype(np.uint8)  # columns: track 9, track 7
    return characters, IdentityMasks(driving, (9, 7))


def test_loader_lists_release_files_and_loads(loaded):
    names = ChoreoReferenceNetLoader.INPUT_TYPES()["required"]["motion_module"][0]
    assert "motion_module.safetensors" in names
    model, summary = loaded
    assert "reference-attention blocks" in summary and model.config.block_out_channels == (32, 64)


def test_encode_sample_decode_with_identity_matching_report(loaded):
    model, _ = loaded
    rng = torch.Generator().manual_seed(0)
    reference = torch.rand(1, SIZE, SIZE, 3, generator=rng)
    ieg = torch.rand(1, SIZE, SIZE, 3, generator=rng)
    poses = torch.rand(FRAMES, SIZE, SIZE, 3, generator=rng)
    bank, used = ChoreoReferenceNetEncode().run(model, reference, ieg)
    torch.testing.assert_close(used, ieg)
    characters, masks = _characters()
    latent, report = ChoreoReferenceNetSampler().run(model, bank, poses, steps=2, cfg=2.0, seed=1,
                                                     context_frames=2, context_overlap=1, closed_loop=False,
                                                     characters=characters, driving_masks=masks, matching_layers=2)
    assert latent["samples"].shape == (1, 4, FRAMES, SIZE // 2, SIZE // 2)
    assert report.count("IC ") == 2 and "track 7:" in report and "over 3 frames" in report
    (frames,) = ChoreoReferenceNetDecode().run(model, latent)
    assert frames.shape == (FRAMES, SIZE, SIZE, 3) and 0 <= frames.min() and frames.max() <= 1


def test_sampler_without_diagnostic_and_bad_inputs(loaded):
    model, _ = loaded
    bank, _ = ChoreoReferenceNetEncode().run(model, torch.rand(1, SIZE, SIZE, 3), torch.rand(1, SIZE, SIZE, 3))
    latent, report = ChoreoReferenceNetSampler().run(model, bank, torch.rand(2, SIZE, SIZE, 3), steps=1, cfg=1.0)
    assert report == "" and latent["samples"].shape[2] == 2
    characters, _ = _characters()
    with pytest.raises(InputError, match="needs both"):
        ChoreoReferenceNetSampler().run(model, bank, torch.rand(2, SIZE, SIZE, 3), steps=1, characters=characters)
    with pytest.raises(InputError, match="context_overlap"):
        ChoreoReferenceNetSampler().run(model, bank, torch.rand(2, SIZE, SIZE, 3), context_frames=4,
                                        context_overlap=4)
    with pytest.raises(InputError, match="pose_video"):
        ChoreoReferenceNetSampler().run(model, bank, torch.rand(2, 2 * SIZE, SIZE, 3), steps=1)
    with pytest.raises(InputError, match="latent"):
        ChoreoReferenceNetDecode().run(model, {"samples": torch.zeros(1, 16, 2, 4, 4)})


def test_missing_file_choice_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("CHOREOGRAPH_MODELS_DIR", str(tmp_path))
    with pytest.raises(InputError, match="reference_unet"):
        ChoreoReferenceNetLoader().run("none", "a", "b", "c", "none", "d", "e", "fp32", "cpu")


def test_encoder_draws_the_reference_ieg_from_poses_and_characters(loaded):
    from choreograph.core.pose.sequence import PoseSequence

    model, _ = loaded
    kp = np.zeros((1, 2, 133, 3), np.float32)
    for person, x in enumerate((4.0, 12.0)):
        kp[0, person, 1] = (x, 4.0, 1.0)  # neck
        kp[0, person, 8] = (x, 12.0, 1.0)  # right hip
    characters, _ = _characters()
    _, ieg = ChoreoReferenceNetEncode().run(model, torch.rand(1, SIZE, SIZE, 3),
                                            reference_poses=PoseSequence(kp, (0, 1), SIZE, SIZE),
                                            characters=characters)
    assert ieg.shape == (1, SIZE, SIZE, 3) and ieg.max() > 0
    from choreograph.core.render.palette import SLOT_RGB

    hue = int(np.argmax(SLOT_RGB[0]))  # reference 0 plays track 7 (slot 0)
    other = (hue + 1) % 3
    assert ieg[0, :, :8, hue].sum() > ieg[0, :, :8, other].sum()
    with pytest.raises(InputError, match="reference_ieg"):
        ChoreoReferenceNetEncode().run(model, torch.rand(1, SIZE, SIZE, 3))


def test_shift_windows_off_keeps_the_release_windows(loaded):
    """Off: Moore's step-0 windows at every step (what the golden long-pipeline run needs); on: they move."""
    model, _ = loaded
    bank, _ = ChoreoReferenceNetEncode().run(model, torch.rand(1, SIZE, SIZE, 3), torch.rand(1, SIZE, SIZE, 3))
    poses = torch.rand(5, SIZE, SIZE, 3, generator=torch.Generator().manual_seed(2))
    common = {"steps": 2, "cfg": 1.0, "seed": 3, "context_frames": 2, "context_overlap": 0}
    fixed = ChoreoReferenceNetSampler().run(model, bank, poses, **common, shift_windows=False)[0]["samples"]
    moving = ChoreoReferenceNetSampler().run(model, bank, poses, **common)[0]["samples"]
    again = ChoreoReferenceNetSampler().run(model, bank, poses, **common, shift_windows=False)[0]["samples"]
    assert torch.equal(fixed, again) and not torch.allclose(fixed, moving)
