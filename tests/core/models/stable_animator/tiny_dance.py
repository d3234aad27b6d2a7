"""Tiny DanceTogether parts and the files they are saved as, in the public layouts (tests write their own).

Sizes: UNet (32, 64) with cross-attention width 64, adapter width 32 for 2 people, face encoder width 64
(one 64-wide head) over a 64-wide CLIP embedding, 4-level VAE of width 32 (8× downsampling like SVD's).
"""
from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save_file

from choreograph.core.models.stable_animator.face_encoder import FaceEncoderConfig, FaceIdEncoder
from choreograph.core.models.stable_animator.fresh import TINY_CLIP, TINY_FACE, TINY_UNET, TINY_VAE
from choreograph.core.models.stable_animator.mask_pose import MaskPoseAdapter, MaskPoseConfig
from choreograph.core.models.stable_animator.pose_net import PoseNet
from choreograph.core.models.stable_animator.unet import build_unet

UNET_CONFIG = TINY_UNET
FACE_CONFIG = FaceEncoderConfig(width=64, clip_dim=64, **TINY_FACE)
ADAPTER_CONFIG = MaskPoseConfig(channels=32, people=2)
VAE_CONFIG = TINY_VAE
CLIP_CONFIG = {**TINY_CLIP, "projection_dim": 64}


def jitter(module: torch.nn.Module, seed: int, std: float = 0.05) -> torch.nn.Module:
    """Make every weight distinctive (zero-inits would hide wiring mistakes)."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn_like(p) * std)
    return module.eval()


def tiny_unet(seed: int = 0, identity: bool = True) -> torch.nn.Module:
    torch.manual_seed(seed)
    return jitter(build_unet(UNET_CONFIG, identity=identity), seed)


def tiny_adapter(seed: int = 1) -> MaskPoseAdapter:
    torch.manual_seed(seed)
    return jitter(MaskPoseAdapter(ADAPTER_CONFIG), seed)


def tiny_pose_net(seed: int = 2) -> PoseNet:
    torch.manual_seed(seed)
    return jitter(PoseNet(ADAPTER_CONFIG.channels), seed)


def tiny_face_encoder(seed: int = 3) -> FaceIdEncoder:
    torch.manual_seed(seed)
    return jitter(FaceIdEncoder(FACE_CONFIG), seed)


def tiny_vae(seed: int = 4) -> torch.nn.Module:
    from diffusers import AutoencoderKLTemporalDecoder

    torch.manual_seed(seed)
    return AutoencoderKLTemporalDecoder(**VAE_CONFIG).eval()


def tiny_image_encoder(seed: int = 5) -> torch.nn.Module:
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(seed)
    return CLIPVisionModelWithProjection(CLIPVisionConfig(**CLIP_CONFIG)).eval()


def save_state(module: torch.nn.Module, path: Path) -> Path:
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(path))
    return path


def write_files(root: Path) -> dict[str, Path]:
    """StableAnimator-style files (unet folder with config, pose_net, face_encoder) and an SVD-style folder."""
    unet_dir = root / "unet"
    tiny_unet().save_pretrained(unet_dir, safe_serialization=True)
    svd = root / "svd"
    tiny_vae().save_pretrained(svd / "vae", safe_serialization=True)
    tiny_image_encoder().save_pretrained(svd / "image_encoder", safe_serialization=True)
    return {"unet": unet_dir, "pose_net": save_state(tiny_pose_net(), root / "pose_net.safetensors"),
            "face_encoder": save_state(tiny_face_encoder(), root / "face_encoder.safetensors"), "svd_folder": svd}
