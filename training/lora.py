"""LoRA through peft on the Wan transformer, exported in the format ComfyUI and our loader read.

Targets are given in original Wan names (``ffn.0``, ``self_attn.q`` — what users see in ComfyUI) or diffusers
names, always inside ``blocks.N``; a target that matches no Linear is an error before training. The export names
every module ``diffusion_model.<original Wan name>`` with ``lora_A``/``lora_B`` weights and an ``.alpha`` scalar:
ComfyUI scales by alpha/rank only when alpha is present, and diffusers converts this layout too
(``shared/notes/dependencies.md`` §1.5–1.6). peft's own state dict has diffusers names and no alpha, which ComfyUI
silently ignores.
"""
from __future__ import annotations

import re
from pathlib import Path

import torch
from peft import LoraConfig as PeftLoraConfig
from peft.tuners.tuners_utils import BaseTunerLayer
from peft.utils import get_peft_model_state_dict
from torch import nn

from ..core.errors import InputError
from ..core.models.wan_keys import diffusers_to_original, original_to_diffusers
from .files import save_safetensors

COMFY_PREFIX = "diffusion_model."
_BLOCK = re.compile(r"^blocks\.(\d+)\.(.+)$")


def target_modules(model: nn.Module, targets: tuple[str, ...]) -> list[str]:
    """Full diffusers names of the Linear layers inside ``blocks.N`` matching each target (original or diffusers
    name); ``InputError`` naming the first target that matches nothing."""
    linears = {name for name, module in model.named_modules() if isinstance(module, nn.Linear)}
    found: list[str] = []
    for target in targets:
        wanted = {target, original_to_diffusers(f"blocks.0.{target}").split(".", 2)[2]}
        hits = sorted(n for n in linears if (m := _BLOCK.match(n)) and m.group(2) in wanted)
        if not hits:
            inside = sorted({m.group(2) for n in linears if (m := _BLOCK.match(n))})
            raise InputError("lora.targets", f"'{target}' matches no Linear layer inside the blocks",
                             f"use original Wan names such as ffn.0, ffn.2, self_attn.q, cross_attn.o "
                             f"(diffusers names here: {', '.join(inside)})")
        found.extend(hits)
    return sorted(set(found))


def add_lora(model: nn.Module, targets: tuple[str, ...], rank: int, alpha: float) -> list[str]:
    """Freeze ``model`` and inject trainable LoRA layers (peft, A Gaussian, B zero); returns the module names."""
    modules = target_modules(model, targets)
    model.requires_grad_(False)
    model.add_adapter(PeftLoraConfig(r=rank, lora_alpha=alpha, target_modules=modules, init_lora_weights=True))
    return modules


def comfy_lora_state(model: nn.Module, alpha: float) -> dict[str, torch.Tensor]:
    """The LoRA weights as ``diffusion_model.<original name>.lora_A/B.weight`` plus ``.alpha`` per module."""
    state: dict[str, torch.Tensor] = {}
    for key, tensor in get_peft_model_state_dict(model).items():
        module, kind = key.rsplit(".lora_", 1)
        name = COMFY_PREFIX + diffusers_to_original(module)
        state[f"{name}.lora_{kind}"] = tensor.detach().float().cpu().contiguous()
        state[f"{name}.alpha"] = torch.tensor(float(alpha))
    return state


def save_comfy_lora(model: nn.Module, alpha: float, path: str | Path) -> Path:
    """Write the ComfyUI-format LoRA of ``model`` atomically."""
    return save_safetensors(comfy_lora_state(model, alpha), path, {"format": "pt"})


def merged_copy_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """Full diffusers-named weights with every LoRA delta added (``model`` itself is left unchanged)."""
    deltas = {f"{name}.base_layer.weight": module.get_delta_weight(adapter)
              for name, module in model.named_modules() if isinstance(module, BaseTunerLayer)
              for adapter in module.active_adapters}
    state = {}
    with torch.no_grad():
        for key, value in model.state_dict().items():
            if ".lora_" in key:
                continue
            merged = value + deltas[key].to(value.dtype) if key in deltas else value
            state[key.replace(".base_layer", "")] = merged.detach().cpu().clone()
    return state
