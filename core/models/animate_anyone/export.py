"""Write AnimateAnyone networks in the Moore-AnimateAnyone release layout, as safetensors.

The inverse of ``loader.py``: what fine-tuning (EverybodyDance stages 1–2) saves, readable by this loader and
with the Moore names other tools expect. Each file is written to a temporary name and moved into place, so an
interrupted save never leaves a truncated file under the final name.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import nn

from . import keys
from .config import CONFIG_METADATA_KEY
from .loader import AnimateAnyoneFiles, AnimateAnyoneModels


def _save(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str]) -> Path:
    temporary = path.with_name(path.name + ".tmp")
    save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(temporary), metadata=metadata)
    os.replace(temporary, path)
    return path


def _state(module: nn.Module) -> dict[str, torch.Tensor]:
    return dict(module.state_dict())


def motion_and_spatial(denoising_unet: nn.Module) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Split the denoising UNet into the stage-1 file (spatial) and the stage-2 file (motion, Moore names)."""
    spatial, motion = {}, {}
    for name, tensor in _state(denoising_unet).items():
        if keys.is_motion_key(name):
            motion.update({old: tensor.clone() for old in keys.motion_from_diffusers(name)})
        else:
            spatial[name] = tensor
    return spatial, motion


def save_release(models: AnimateAnyoneModels, folder: str | Path) -> AnimateAnyoneFiles:
    """Save every network into ``folder``; returns the paths for ``load_animate_anyone``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"format": "pt", CONFIG_METADATA_KEY: models.config.to_json()}
    spatial, motion = motion_and_spatial(models.denoising_unet)
    return AnimateAnyoneFiles(
        reference_unet=_save(_state(models.reference_unet), folder / "reference_unet.safetensors", meta),
        denoising_unet=_save(spatial, folder / "denoising_unet.safetensors", meta),
        motion_module=_save(motion, folder / "motion_module.safetensors", meta),
        pose_guider=_save(_state(models.pose_guider), folder / "pose_guider.safetensors", meta),
        vae=_save(_state(models.vae), folder / "vae.safetensors", meta),
        image_encoder=_save(_state(models.image_encoder), folder / "image_encoder.safetensors", meta),
        ref_pose_guider=_save(_state(models.ref_pose_guider), folder / "ref_pose_guider.safetensors", meta),
    )
