"""fp8 weights: stored in 8 bits, upcast one layer at a time when that layer runs.

ComfyUI's "fp8_scaled" files store each large Linear weight as ``float8_e4m3fn`` plus a per-tensor float32 scale,
so the real weight is ``w8.to(dtype) * scale``. Two spellings exist (ComfyUI ``comfy/ops.py``): the older one has a
``scaled_fp8`` marker tensor and ``<layer>.scale_weight`` / ``<layer>.scale_input``; the newer one has
``<layer>.weight_scale`` / ``<layer>.input_scale`` and a ``<layer>.comfy_quant`` JSON tensor. Both map onto one
module here, ``ScaledFp8Linear``, whose state dict holds ``weight`` (fp8) and ``weight_scale``. Input scales only
matter for fp8 matmul kernels; we always upcast, so they are read and dropped.
"""
from __future__ import annotations

import json
from collections.abc import Container

import torch
import torch.nn.functional as F
from torch import nn

FP8_DTYPES = (torch.float8_e4m3fn, torch.float8_e5m2)
FP8_E4M3_MAX = float(torch.finfo(torch.float8_e4m3fn).max)

# Checkpoint key suffix → meaning, for both ComfyUI spellings.
WEIGHT_SCALE_SUFFIXES = (".weight_scale", ".scale_weight")
IGNORED_QUANT_SUFFIXES = (".input_scale", ".scale_input", ".comfy_quant")
MARKER_KEYS = ("scaled_fp8",)
SUPPORTED_QUANT_FORMATS = ("float8_e4m3fn", "float8_e5m2")


class ScaledFp8Linear(nn.Linear):
    """A Linear whose weight stays in fp8 and is dequantised (``w * weight_scale``) in the input's dtype per call."""

    weight_scale: torch.Tensor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.weight.to(x.dtype) * self.weight_scale.to(device=x.device, dtype=x.dtype)
        bias = None if self.bias is None else self.bias.to(x.dtype)
        return F.linear(x, weight, bias)


def make_fp8_linear(module: nn.Linear) -> None:
    """Turn ``module`` into a ``ScaledFp8Linear`` in place (on the meta device, before weights are assigned)."""
    module.__class__ = ScaledFp8Linear
    module.register_buffer("weight_scale", torch.ones((), device=module.weight.device, dtype=torch.float32))


def quantize_fp8(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-tensor absmax quantisation to e4m3fn; returns ``(w8, scale)`` with ``w8 * scale ≈ weight``."""
    amax = weight.detach().abs().max().float().clamp_min(1e-12)
    scale = amax / FP8_E4M3_MAX
    w8 = (weight.float() / scale).clamp(-FP8_E4M3_MAX, FP8_E4M3_MAX).to(torch.float8_e4m3fn)
    return w8, scale.reshape(())


def dequantize(weight: torch.Tensor, scale: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor:
    """The full-precision weight of a (possibly scaled) fp8 tensor."""
    out = weight.to(dtype)
    return out if scale is None else out * scale.to(dtype)


def scale_key_for(weight_key: str, keys: Container[str]) -> str | None:
    """The checkpoint key holding the scale of ``<layer>.weight``, in either spelling, or None."""
    layer = weight_key[: -len(".weight")]
    for suffix in WEIGHT_SCALE_SUFFIXES:
        if layer + suffix in keys:
            return layer + suffix
    return None


def is_quant_aux_key(key: str) -> bool:
    """Keys that describe quantisation rather than hold a network tensor."""
    return key in MARKER_KEYS or key.endswith(WEIGHT_SCALE_SUFFIXES + IGNORED_QUANT_SUFFIXES)


def unsupported_quant_formats(comfy_quant_tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> list[str]:
    """Quantisation formats named in a file that this loader cannot dequantise (e.g. mxfp8, int8 blockwise)."""
    formats = set()
    for tensor in comfy_quant_tensors.values():
        formats.add(json.loads(bytes(tensor.to(torch.uint8).tolist()).decode("utf-8")).get("format", "?"))
    if "_quantization_metadata" in metadata:
        layers = json.loads(metadata["_quantization_metadata"]).get("layers", {})
        formats.update(cfg.get("format", "?") for cfg in layers.values())
    return sorted(f for f in formats if f not in SUPPORTED_QUANT_FORMATS)
