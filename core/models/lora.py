"""Wan LoRAs in the formats users have (ComfyUI/peft ``lora_A``/``lora_B``, kohya ``lora_up``/``lora_down``), merged
into the loaded transformer's weights.

Module names may be original Wan names with ``diffusion_model.`` (what ComfyUI loads and our training writes),
kohya's ``lora_unet_<name with _>``, or diffusers names with ``transformer.``. Scale is ``alpha / rank`` when an
``.alpha`` key is present, else 1.0 — ComfyUI's rule (``comfy/weight_adapter/lora.py``), so a file behaves the same
here and there. Every LoRA module must match a Linear of the model with matching shapes; otherwise the file is
for another model and the error says which modules did not fit.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..errors import InputError
from . import fp8
from .checkpoint import open_checkpoint
from .wan_keys import diffusers_to_original, original_to_diffusers

_UP_DOWN = ((".lora_B.weight", ".lora_A.weight"), (".lora_up.weight", ".lora_down.weight"))
_DIFF_SUFFIXES = (".diff", ".diff_b")
_PREFIXES = ("transformer.", "lora_unet_")


@dataclass(frozen=True)
class LoraPatch:
    """One module's low-rank update ``ΔW = scale · up @ down`` (or a full weight/bias difference)."""

    module: str  # diffusers module name in our model
    up: torch.Tensor | None
    down: torch.Tensor | None
    scale: float
    diff: torch.Tensor | None = None
    diff_bias: torch.Tensor | None = None

    def delta(self) -> torch.Tensor | None:
        if self.up is None:
            return self.diff
        return self.scale * (self.up.float().flatten(1) @ self.down.float().flatten(1))


def read_lora(path: str | Path, model: nn.Module, input_name: str = "lora") -> list[LoraPatch]:
    """Parse a LoRA file against ``model`` (its module names decide how kohya names are read back)."""
    reader = open_checkpoint(path, input_name)
    keys = set(reader.keys())
    modules = _module_names(keys)
    if not modules:
        raise InputError(input_name, f"'{reader.name}' holds no LoRA weights (no lora_A/lora_B, lora_up/lora_down "
                         "or diff keys)", "choose a LoRA file from models/loras")
    resolve = _resolver(model)
    patches, unmatched, used = [], [], set()
    for name in sorted(modules):
        target = resolve(name)
        if target is None:
            unmatched.append(name)
            continue
        patch, consumed = _patch(reader, keys, name, target)
        patches.append(patch)
        used |= consumed
    leftover = sorted(keys - used)
    if unmatched or leftover:
        listed = ", ".join((unmatched + leftover)[:8])
        raise InputError(input_name, f"'{reader.name}' does not fit this model: {len(unmatched)} module(s) not in "
                         f"the model and {len(leftover)} unused key(s) ({listed})",
                         "use a LoRA trained for this model (Wan2.1 14B / SCAIL-2)")
    return patches


def apply_loras(model: nn.Module, loras: list[tuple[str | Path, float]]) -> nn.Module:
    """Merge each ``(file, strength)`` into ``model``'s weights in place (fp8 layers are re-quantised)."""
    for path, strength in loras:
        if strength == 0:
            continue
        for patch in read_lora(path, model):
            _merge(model.get_submodule(patch.module), patch, strength, Path(path).name)
    return model


def _module_names(keys: set[str]) -> set[str]:
    names = set()
    for key in keys:
        for suffix in [s for pair in _UP_DOWN for s in pair] + list(_DIFF_SUFFIXES):
            if key.endswith(suffix):
                names.add(key[: -len(suffix)])
    return names


def _resolver(model: nn.Module):
    """LoRA module name → our (diffusers) module name, for original, kohya and diffusers spellings."""
    linears = {name for name, m in model.named_modules() if isinstance(m, nn.Linear)}
    kohya = {"lora_unet_" + diffusers_to_original(name).replace(".", "_"): name for name in linears}

    def resolve(name: str) -> str | None:
        if name in kohya:
            return kohya[name]
        bare = name.removeprefix("transformer.")
        for candidate in (bare, original_to_diffusers(bare)):
            if candidate in linears:
                return candidate
        return None

    return resolve


def _patch(reader, keys: set[str], name: str, target: str) -> tuple[LoraPatch, set[str]]:
    consumed = set()

    def take(key: str) -> torch.Tensor | None:
        if key in keys:
            consumed.add(key)
            return reader.load(key)
        return None

    up = down = None
    for up_suffix, down_suffix in _UP_DOWN:
        if name + up_suffix in keys:
            up, down = take(name + up_suffix), take(name + down_suffix)
    alpha = take(name + ".alpha")
    rank = down.shape[0] if down is not None else 1
    scale = float(alpha) / rank if alpha is not None else 1.0
    patch = LoraPatch(target, up, down, scale, take(name + ".diff"), take(name + ".diff_b"))
    return patch, consumed


def _merge(module: nn.Linear, patch: LoraPatch, strength: float, file_name: str) -> None:
    delta = patch.delta()
    with torch.no_grad():
        if delta is not None:
            if tuple(delta.shape) != tuple(module.weight.shape):
                raise InputError("lora", f"'{file_name}' changes {patch.module} by {tuple(delta.shape)} but the "
                                 f"model's weight is {tuple(module.weight.shape)}", "use a LoRA for this model size")
            _add_to_weight(module, strength * delta.to(module.weight.device))
        if patch.diff_bias is not None and module.bias is not None:
            module.bias.add_((strength * patch.diff_bias.float()).to(module.bias.device, module.bias.dtype))


def _add_to_weight(module: nn.Linear, delta: torch.Tensor) -> None:
    if isinstance(module, fp8.ScaledFp8Linear):
        merged = fp8.dequantize(module.weight, module.weight_scale, torch.float32) + delta
        w8, scale = fp8.quantize_fp8(merged)
        module.weight.data = w8.to(module.weight.device)
        module.weight_scale.copy_(scale)
        return
    module.weight.add_(delta.to(module.weight.dtype))
