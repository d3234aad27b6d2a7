"""WanSCAILToVideo-style conditioning feeds our transformer in the native mode (sizes, batches, pose range)."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from choreograph.core.conditioning.scail2_conditioning import Scail2Inputs, native_conditioning
from choreograph.core.errors import InputError
from choreograph.core.models.wan_arch import SCAIL2, WanArch
from choreograph.core.models.wan_loader import build_wan


def _encode(pixels: torch.Tensor) -> torch.Tensor:
    """A tiny deterministic 'VAE': Wan's 1 + (T-1)//4 frames, 8x8 means, 16 channels."""
    x = pixels[..., :3].movedim(-1, 1)
    n = 1 + (x.shape[0] - 1) // 4
    frames = torch.stack([x[0]] + [x[1 + 4 * (k - 1): 4 * k + 1].mean(0) for k in range(1, n)])
    pooled = F.avg_pool2d(frames, 8)
    return pooled.repeat(1, 6, 1, 1)[:, :16].movedim(0, 1)[None]


def _inputs(**overrides) -> Scail2Inputs:
    g = torch.Generator().manual_seed(0)
    colour = torch.zeros(13, 20, 30, 3)
    colour[:, 4:14, 6:16, 2] = 1.0  # identity 1 (blue) in the driving mask
    ref_mask = torch.ones(1, 40, 60, 3)
    ref_mask[:, 8:30, 10:30, :2] = 0.0  # identity 1 on white (animation)
    base = dict(width=48, height=32, length=13, reference_images=torch.rand(2, 40, 60, 3, generator=g),
                reference_masks=ref_mask, pose_video=torch.rand(11, 20, 30, 3, generator=g), pose_video_mask=colour,
                pose_start=0.25, pose_end=0.75)
    return Scail2Inputs(**{**base, **overrides})


@pytest.fixture(scope="module")
def model():
    arch = WanArch(variant=SCAIL2, dim=64, in_channels=20, out_channels=16, num_layers=1, ffn_dim=64, text_dim=8,
                   freq_dim=16, patch_size=(1, 2, 2), cross_attn_norm=True, image_dim=None, pos_embed_seq_len=None,
                   mask_channels=28, head_dim=32)
    torch.manual_seed(0)
    return build_wan(arch).eval()


@pytest.mark.parametrize("batch", [1, 2])
def test_native_conditioning_drives_the_transformer(model, batch):
    cond = native_conditioning(_inputs(batch_size=batch), _encode)
    assert cond.pose_latent.shape[2] == 3  # pose (11) and mask (13) truncated jointly to 9 frames
    assert cond.ref_mask_28ch.shape[1] == 2 + 4 and cond.latent.shape == (batch, 16, 4, 4, 6)
    latent, context = cond.model_inputs(lambda z: z)
    assert context.reference_frames == 2 and context.compat == "native" and context.driving.shape[0] == batch
    with torch.no_grad():
        out = model(latent, torch.full((batch,), 500.0), torch.randn(batch, 3, 8), context=context)
        idle = model(latent, torch.full((batch,), 500.0), torch.randn(batch, 3, 8),
                     context=cond.model_inputs(lambda z: z, with_pose=False)[1])
    assert out.shape == latent.shape and not torch.allclose(out, idle)  # the pose matters inside its range
    assert cond.pose_range == (0.25, 0.75)


def test_previous_frames_become_history_and_move_the_offset():
    g = torch.Generator().manual_seed(1)
    cond = native_conditioning(_inputs(previous_frames=torch.rand(7, 32, 48, 3, generator=g), video_frame_offset=8),
                               _encode)
    assert cond.history_frames == 2 and cond.video_frame_offset == 8 - 5 + 13
    assert cond.latent[:, :, 2:].abs().sum() == 0 and cond.latent[:, :, :2].abs().sum() > 0
    assert cond.noise_mask()[0, 0, :, 0, 0].tolist() == [0.0, 0.0, 1.0, 1.0]


def test_replacement_composites_each_reference_on_black_by_its_mask():
    white = torch.ones(1, 32, 48, 3)
    mask = torch.zeros(1, 32, 48, 3)
    mask[:, :, :24, 0] = 1.0  # left half is the character
    anim = native_conditioning(_inputs(reference_images=white, reference_masks=mask), _encode)
    repl = native_conditioning(_inputs(reference_images=white, reference_masks=mask, mode="replacement"), _encode)
    assert torch.equal(anim.reference_latents[0], torch.ones_like(anim.reference_latents[0]))
    assert repl.reference_latents[0][..., :3].eq(1).all() and repl.reference_latents[0][..., 3:].eq(0).all()


def test_bad_sizes_are_refused():
    with pytest.raises(InputError, match="width"):
        _inputs(width=50)
