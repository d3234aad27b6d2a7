"""The one weight-loading path every sampler uses: meta-device model, exact key check, per-tensor dtype, assign.

Why each step:
* The network is built on the ``meta`` device (no memory), then each checkpoint tensor is converted and moved to
  its final device and *assigned* as the parameter, so a 14B model never exists twice in RAM or VRAM.
* The key check is exact: every checkpoint key must be used and every model parameter filled, with equal shapes.
  A silent ``strict=False`` is how a wrong file turns into noise; here it becomes an error listing the keys.
* fp8 Linear weights stay fp8 (``ScaledFp8Linear``) and are upcast per layer at run time; other fp8 tensors are
  dequantised at load. Small numerically sensitive modules (the model's ``_keep_in_fp32_modules``) stay fp32.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from accelerate import init_empty_weights
from torch import nn

from ..errors import InputError
from . import fp8
from .checkpoint import CheckpointReader

NameMap = Callable[[str], str]
_LIST_LIMIT = 12


@dataclass(frozen=True)
class DtypePolicy:
    """How weights are stored once loaded.

    ``compute``: dtype of ordinary weights and activations. ``fp8_storage``: keep fp8 Linear weights of the file in
    fp8 ("keep"), or quantise every Linear in the transformer blocks to fp8 on load ("quantize"), or upcast
    everything ("upcast").
    """

    compute: torch.dtype = torch.bfloat16
    fp8_storage: str = "keep"

    def __post_init__(self) -> None:
        if self.fp8_storage not in ("keep", "quantize", "upcast"):
            raise ValueError(f"fp8_storage must be keep, quantize or upcast, not {self.fp8_storage!r}")


def build_on_meta(factory: Callable[[], nn.Module]) -> nn.Module:
    """Construct a network with parameters on the meta device (buffers such as RoPE tables stay real)."""
    with init_empty_weights(include_buffers=False):
        return factory()


def load_weights(model: nn.Module, reader: CheckpointReader, name_map: NameMap, policy: DtypePolicy,
                 device: torch.device | str = "cpu", input_name: str = "model file") -> nn.Module:
    """Fill the meta-built ``model`` from ``reader`` (whose names ``name_map`` turns into the model's names).

    Raises ``InputError`` naming the file when keys or shapes do not match exactly or the quantisation format
    is not supported. Returns the model in eval mode with gradients off.
    """
    _refuse_unsupported_quant(reader, input_name)
    names = {name_map(k): k for k in reader if not fp8.is_quant_aux_key(k)}
    fp8_layers = _choose_fp8_layers(model, reader, names, policy)
    for layer in fp8_layers:
        fp8.make_fp8_linear(model.get_submodule(layer))
    provided = {n: reader.shape(k) for n, k in names.items()}
    provided.update({f"{layer}.weight_scale": () for layer in fp8_layers})
    check_exact_keys(_expected_shapes(model), provided, reader.name, input_name)
    keep_fp32 = tuple(getattr(model, "_keep_in_fp32_modules", None) or ())
    state = {}
    for name, key in names.items():
        state.update(_converted(name, key, reader, fp8_layers, policy, keep_fp32, torch.device(device)))
    model.load_state_dict(state, strict=True, assign=True)
    return model.eval().requires_grad_(False)


def check_exact_keys(expected: Mapping[str, tuple[int, ...]], provided: Mapping[str, tuple[int, ...]],
                     file_name: str, input_name: str = "model file") -> None:
    """Raise one ``InputError`` listing unexpected keys, missing keys and shape mismatches (if any)."""
    unexpected = sorted(set(provided) - set(expected))
    missing = sorted(set(expected) - set(provided))
    wrong = sorted(k for k in set(expected) & set(provided) if tuple(expected[k]) != tuple(provided[k]))
    if not (unexpected or missing or wrong):
        return
    parts = []
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected key(s): {_short_list(unexpected)}")
    if missing:
        parts.append(f"{len(missing)} missing key(s): {_short_list(missing)}")
    if wrong:
        parts.append(f"{len(wrong)} shape mismatch(es): " + _short_list(
            [f"{k} file {tuple(provided[k])} vs model {tuple(expected[k])}" for k in wrong]))
    raise InputError(input_name, f"'{file_name}' does not match the network it was detected as; " + "; ".join(parts),
                     "choose a checkpoint of the matching model (and variant), or report the file if it should load")


def _short_list(items: list[str]) -> str:
    shown = ", ".join(items[:_LIST_LIMIT])
    return shown + (f", … (+{len(items) - _LIST_LIMIT} more)" if len(items) > _LIST_LIMIT else "")


def _expected_shapes(model: nn.Module) -> dict[str, tuple[int, ...]]:
    return {name: tuple(t.shape) for name, t in model.state_dict().items()}


def _refuse_unsupported_quant(reader: CheckpointReader, input_name: str) -> None:
    quant = {k: reader.load(k) for k in reader if k.endswith(".comfy_quant")}
    bad = fp8.unsupported_quant_formats(quant, reader.metadata)
    if bad:
        raise InputError(input_name, f"'{reader.name}' uses quantisation format(s) {', '.join(bad)}, which this "
                         "loader cannot dequantise", "use the fp16/bf16 or fp8_scaled (float8_e4m3fn) file")


def _choose_fp8_layers(model: nn.Module, reader: CheckpointReader, names: dict[str, str],
                       policy: DtypePolicy) -> set[str]:
    """Linear layers whose weight is kept in fp8 after loading."""
    if policy.fp8_storage == "upcast":
        return set()
    layers = set()
    for name, key in names.items():
        if not name.endswith(".weight"):
            continue
        layer = name[: -len(".weight")]
        try:
            module = model.get_submodule(layer)
        except AttributeError:
            continue  # an unexpected key; reported by the exact check
        if type(module) is not nn.Linear:
            continue
        stored_fp8 = reader.dtype(key) in fp8.FP8_DTYPES
        quantize = policy.fp8_storage == "quantize" and layer.startswith("blocks.")
        if stored_fp8 or quantize:
            layers.add(layer)
    return layers


def _converted(name: str, key: str, reader: CheckpointReader, fp8_layers: set[str], policy: DtypePolicy,
               keep_fp32: tuple[str, ...], device: torch.device) -> dict[str, torch.Tensor]:
    """The model tensors one checkpoint tensor becomes (a weight, or an fp8 weight plus its scale)."""
    tensor = reader.load(key)
    scale_key = fp8.scale_key_for(key, reader) if key.endswith(".weight") else None
    scale = reader.load(scale_key).float().reshape(()) if scale_key else None
    layer = name[: -len(".weight")] if name.endswith(".weight") else None
    if layer in fp8_layers:
        if tensor.dtype not in fp8.FP8_DTYPES:
            tensor, scale = fp8.quantize_fp8(tensor)
        scale = torch.ones(()) if scale is None else scale
        return {name: tensor.to(device), f"{layer}.weight_scale": scale.to(device)}
    if not tensor.is_floating_point():
        return {name: tensor.to(device)}
    dtype = torch.float32 if any(part in name.split(".") for part in keep_fp32) else policy.compute
    if tensor.dtype in fp8.FP8_DTYPES:
        return {name: fp8.dequantize(tensor, scale, torch.float32).to(device=device, dtype=dtype)}
    return {name: tensor.to(device=device, dtype=dtype)}
