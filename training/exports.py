"""What a finished run leaves for the samplers: a ComfyUI-format LoRA, or a full model our loaders read.

The full model is a diffusers folder (``config.json`` + ``diffusion_pytorch_model.safetensors``): the config
carries the head size, which a bare ComfyUI file cannot (``core.models.wan_arch`` assumes Wan's 128). For
real-size models (128-dim heads) a ComfyUI single file with original Wan names is written as well.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import torch
from torch import nn

from ..core.models.wan_arch import WAN_HEAD_DIM
from ..core.models.wan_keys import diffusers_to_original
from ..core.video.output_files import atomic_directory
from .config import Config
from .files import save_safetensors
from .lora import merged_copy_state, save_comfy_lora

MODEL_FOLDER = "model"
WEIGHTS_NAME = "diffusion_pytorch_model.safetensors"


def save_model_folder(model: nn.Module, state: dict[str, torch.Tensor], path: Path) -> Path:
    """A diffusers model folder for ``state`` with ``model``'s config, renamed into place when complete."""
    if path.exists():
        shutil.rmtree(path)
    with atomic_directory(path) as temp:
        model.save_config(str(temp))
        save_safetensors({k: v.float() for k, v in state.items()}, temp / WEIGHTS_NAME)
    return path


def export_final(model: nn.Module, config: Config, out: Path) -> list[Path]:
    """Write the run's deliverables into ``out``; returns their paths."""
    written = []
    if config.train.method in ("lora", "dpo"):
        written.append(save_comfy_lora(model, config.lora.alpha, out / "lora.safetensors"))
        if not config.train.export_merged:
            return written
        state = merged_copy_state(model)
    else:
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    written.append(save_model_folder(model, state, out / MODEL_FOLDER))
    if model.config.attention_head_dim == WAN_HEAD_DIM:
        comfy = {diffusers_to_original(k): v.float() for k, v in state.items()}
        written.append(save_safetensors(comfy, out / "model_comfyui.safetensors", {"format": "pt"}))
    return written


def checkpoint_transformer_state(checkpoint: str | Path) -> dict[str, torch.Tensor]:
    """The transformer's weights in a full-training checkpoint folder (``trainable.safetensors``, keys without the
    objective's ``transformer.`` prefix)."""
    from safetensors.torch import load_file

    prefix = "transformer."
    weights = load_file(str(Path(checkpoint) / "trainable.safetensors"))
    return {k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)}


def export_checkpoint(config: Config, checkpoint: str | Path, out: str | Path) -> Path:
    """A model folder from a full-training checkpoint of ``config`` (a run stopped before ``train.steps``, or a
    point on its training curve)."""
    from .model import build_model

    model = build_model(config.model, config.seed)
    model.load_state_dict(checkpoint_transformer_state(checkpoint))
    return save_model_folder(model, model.state_dict(), Path(out))
