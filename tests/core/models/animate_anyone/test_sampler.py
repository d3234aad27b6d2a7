"""End-to-end tiny AnimateAnyone sampling on CPU: determinism, CFG branches, windows, diagnostic, bad input."""
from __future__ import annotations

import pytest
import torch
from choreograph.core.errors import InputError
from choreograph.core.models.animate_anyone import img
from choreograph.core.models.animate_anyone.config import TINY
from choreograph.core.sampling.animate_anyone import (
    MatchingDiagnostic,
    encode_reference,
    sample_video,
    vae_decode,
)
from choreograph.core.sampling.context_windows import ContextSchedule
from choreograph.core.sampling.ddim import DdimSettings

FAST = DdimSettings(steps=2, guidance=1.0, seed=7)


@pytest.fixture(scope="module")
def encoding(models):
    generator = torch.Generator().manual_seed(0)
    return encode_reference(models, torch.rand(16, 16, 3, generator=generator),
                            torch.rand(16, 16, 3, generator=generator))


@pytest.fixture(scope="module")
def poses():
    return torch.rand(3, 16, 16, 3, generator=torch.Generator().manual_seed(1))


def test_clip_runs_end_to_end_and_is_seeded(models, encoding, poses):
    result = sample_video(models, encoding, poses, DdimSettings(steps=2, guidance=2.0, seed=7))
    assert result.latents.shape == (1, 4, 3, 8, 8) and torch.isfinite(result.latents).all()
    again = sample_video(models, encoding, poses, DdimSettings(steps=2, guidance=2.0, seed=7))
    torch.testing.assert_close(result.latents, again.latents)
    frames = vae_decode(models, result.latents)
    assert frames.shape == (3, 16, 16, 3) and 0 <= frames.min() and frames.max() <= 1
    other = sample_video(models, encoding, poses, FAST.__class__(steps=2, guidance=1.0, seed=8))
    assert not torch.allclose(other.latents, result.latents)


def test_reference_and_pose_both_steer_the_clip(models, encoding, poses):
    base = sample_video(models, encoding, poses, FAST).latents
    other_ref = encode_reference(models, torch.zeros(16, 16, 3), torch.zeros(16, 16, 3))
    assert not torch.allclose(sample_video(models, other_ref, poses, FAST).latents, base)
    assert not torch.allclose(sample_video(models, encoding, poses.flip(0), FAST).latents, base)


def test_fitting_clip_gives_the_single_window_result(models, encoding, poses):
    single = sample_video(models, encoding, poses, FAST, ContextSchedule(frames=3, overlap=0)).latents
    roomy = sample_video(models, encoding, poses, FAST, ContextSchedule(frames=24, overlap=4)).latents
    torch.testing.assert_close(single, roomy)
    calls = []
    hook = models.denoising_unet.register_forward_pre_hook(lambda _m, args: calls.append(args[0].shape[2]))
    try:
        windowed = sample_video(models, encoding, poses, FAST, ContextSchedule(frames=2, overlap=1)).latents
    finally:
        hook.remove()
    assert max(calls) == 2 and torch.isfinite(windowed).all()  # peak work per call bounded by the window


def test_diagnostic_returns_edge_weights_per_frame(models, encoding, poses):
    generated = torch.zeros(3, 2, 16, 16)
    generated[:, 0, :, :8], generated[:, 1, :, 8:] = 1, 1
    generated[2, 1] = 0  # character 1 absent in the last frame
    reference = torch.zeros(2, 16, 16)
    reference[0, :, :8], reference[1, :, 8:] = 1, 1
    blocks = img.matching_blocks(TINY, 2)
    result = sample_video(models, encoding, poses, FAST, diagnostic=MatchingDiagnostic(generated, reference, blocks))
    assert set(result.edge_weights) == set(blocks)
    for weights in result.edge_weights.values():
        assert weights.shape == (3, 2, 2)
        torch.testing.assert_close(weights[:2].sum(-1), torch.ones(2, 2), atol=1e-5, rtol=0)
        assert weights[2, 1].abs().sum() == 0


def test_bad_input_is_named(models, encoding, poses):
    with pytest.raises(InputError, match="reference_ieg.*missing"):
        encode_reference(models, torch.rand(16, 16, 3), None)
    with pytest.raises(InputError, match="reference_ieg"):
        encode_reference(models, torch.rand(16, 16, 3), torch.rand(32, 16, 3))
    with pytest.raises(InputError, match="multiple of 4"):
        encode_reference(models, torch.rand(18, 16, 3), torch.rand(18, 16, 3))
    with pytest.raises(InputError, match="pose_video.*reference is 16x16"):
        sample_video(models, encoding, torch.rand(2, 32, 16, 3), FAST)
    with pytest.raises(InputError, match="context_frames"):
        sample_video(models, encoding, poses, FAST, ContextSchedule(frames=40, overlap=4))
    with pytest.raises(InputError, match="generated_masks"):
        sample_video(models, encoding, poses, FAST,
                     diagnostic=MatchingDiagnostic(torch.zeros(2, 1, 16, 16), torch.zeros(1, 16, 16), ()))


def test_clip_input_crops_like_clip_image_processor_or_squashes_like_the_long_pipeline():
    """Moore's pipeline_pose2vid crops a wide reference's ends away; pipeline_pose2vid_long squashes it whole."""
    from choreograph.core.models.animate_anyone.clip_input import CLIP_MEAN, CLIP_STD, clip_pixels

    wide = torch.zeros(1, 3, 20, 40)
    wide[..., :5] = 1.0  # a bright stripe at the left end
    black = (0 - torch.tensor(CLIP_MEAN)) / torch.tensor(CLIP_STD)
    cropped, squashed = clip_pixels(wide, 8, "crop"), clip_pixels(wide, 8, "squash")
    assert cropped.shape == squashed.shape == (1, 3, 8, 8)
    torch.testing.assert_close(cropped[0], black.view(3, 1, 1).expand(3, 8, 8))  # the stripe is cropped off
    assert (squashed[0, :, :, 0] > black.view(3, 1) + 1).all()  # ... but kept when squashing
    with pytest.raises(ValueError, match="clip input mode"):
        clip_pixels(wide, 8, "stretch")


@pytest.mark.slow
def test_peak_memory_stays_flat_as_the_clip_grows():
    from choreograph.benchmarks.referencenet_sampler import MemoryBench, long_video_memory

    result = long_video_memory(MemoryBench(height=64, width=64, context_frames=8), short=8, long=32)
    assert result["ratio"] < 1.1, result


def test_pose_guider_runs_once_per_clip_and_gives_the_per_window_result(models, encoding, monkeypatch):
    """Issue 19: the PoseGuider is per frame, so running it once per clip (not per window, step and CFG branch)
    must not change a single bit of the result."""
    from choreograph.core.sampling import animate_anyone as sampler

    poses = torch.rand(5, 16, 16, 3, generator=torch.Generator().manual_seed(3))
    settings, schedule = DdimSettings(steps=3, guidance=2.5, seed=1), ContextSchedule(frames=3, overlap=1)
    calls = []
    hook = models.pose_guider.register_forward_pre_hook(lambda _m, args: calls.append(args[0].shape[0]))
    try:
        cached = sample_video(models, encoding, poses, settings, schedule).latents
    finally:
        hook.remove()
    assert sum(calls) == 5  # every frame exactly once

    class PerWindow:  # the former behaviour: the guider on the window's frames at every call
        def __init__(self, models, pixels, _chunk):
            self.models, self.pixels = models, pixels

        def __getitem__(self, window):
            return self.models.pose_guider(self.pixels[window])

    monkeypatch.setattr(sampler, "pose_features", PerWindow)
    assert torch.equal(sample_video(models, encoding, poses, settings, schedule).latents, cached)
