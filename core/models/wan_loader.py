"""Load a Wan-family transformer (Wan2.1 I2V/T2V/FLF2V or SCAIL-2) from a ComfyUI file or diffusers folder.

The checkpoint decides the network: ``detect_wan_arch`` reads sizes and variant from the keys, the network is
built on the meta device, and ``loading.load_weights`` fills it with the exact key check. Original/ComfyUI names
are mapped to diffusers names on the way in.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from diffusers.models.transformers.transformer_wan import WanTransformer3DModel
from torch import nn

from ..errors import InputError
from .checkpoint import CheckpointReader, open_checkpoint
from .loading import DtypePolicy, build_on_meta, load_weights
from .lora import apply_loras
from .offload import enable_block_offload
from .scail2 import Scail2Transformer
from .wan_arch import SCAIL2, WanArch, detect_wan_arch
from .wan_keys import is_original_layout, original_to_diffusers

if TYPE_CHECKING:
    from .wan_vae import WanVideoCodec

# SCAIL-2 shifts groups 120 patches in RoPE space; 1024 positions cover that at up to 1280 px (SPEC §0.3).
ROPE_MAX_SEQ_LEN = 1024
DEFAULT_POLICY = DtypePolicy()  # bf16 compute, fp8 layers of fp8 files kept in fp8


@dataclass(frozen=True)
class LoadedWan:
    """A loaded transformer and what it is."""

    model: nn.Module
    arch: WanArch
    source: Path


def build_wan(arch: WanArch, rope_max_seq_len: int = ROPE_MAX_SEQ_LEN) -> nn.Module:
    """The diffusers network for ``arch`` (call inside ``build_on_meta`` to allocate nothing)."""
    config = dict(arch.diffusers_config(), rope_max_seq_len=rope_max_seq_len)
    if arch.variant == SCAIL2:
        return Scail2Transformer(**config, mask_channels=arch.mask_channels)
    return WanTransformer3DModel(**config)


def load_wan_transformer(path: str | Path, policy: DtypePolicy = DEFAULT_POLICY, device: str | torch.device = "cpu",
                         head_dim: int | None = None, expect: tuple[str, ...] | None = None,
                         loras: tuple[tuple[str | Path, float], ...] = (), input_name: str = "model file") -> LoadedWan:
    """Load the Wan transformer at ``path``; ``expect`` lists acceptable variants (others get a clear error);
    ``loras`` ``(file, strength)`` are merged into the weights right after loading."""
    reader = open_checkpoint(path, input_name)
    try:
        arch = detect_wan_arch(reader, head_dim, input_name)
        if expect is not None and arch.variant not in expect:
            raise InputError(input_name, f"'{reader.name}' is a {arch.variant} checkpoint, this node needs "
                             f"{' or '.join(expect)}", f"choose a {' or '.join(expect)} checkpoint")
        model = build_on_meta(lambda: build_wan(arch))
        load_weights(model, reader, _name_map(reader), policy, device, input_name)
        model.to(device)  # non-persistent buffers (RoPE tables) were built on the CPU
        apply_loras(model, list(loras))
    finally:
        reader.close()
    return LoadedWan(model, arch, Path(path))


def _name_map(reader: CheckpointReader):
    return original_to_diffusers if is_original_layout(reader.keys()) else (lambda name: name)


@dataclass(frozen=True)
class WanModels:
    """What an in-context Wan sampler needs loaded: the transformer and the VAE codec."""

    transformer: LoadedWan
    codec: WanVideoCodec

    @property
    def variant(self) -> str:
        return self.transformer.arch.variant


def load_wan_models(model_path: str | Path, vae_path: str | Path, policy: DtypePolicy = DEFAULT_POLICY,
                    device: str | torch.device = "cpu", loras: tuple[tuple[str | Path, float], ...] = (),
                    resident_blocks: int | None = None) -> WanModels:
    """Transformer and VAE, each reused from the cache when file, dtype, device and LoRAs are unchanged.

    ``resident_blocks``: None keeps the whole transformer on ``device``; a number keeps that many blocks there
    and streams the rest from CPU memory (``offload.enable_block_offload``) for GPUs smaller than the model.
    """
    from .cache import cached, file_stamp
    from .wan_vae import load_wan_vae

    def load() -> LoadedWan:
        if resident_blocks is None or torch.device(device).type == "cpu":
            return load_wan_transformer(model_path, policy, device, loras=loras)
        loaded = load_wan_transformer(model_path, policy, "cpu", loras=loras)
        enable_block_offload(loaded.model, device, resident_blocks)
        return loaded

    lora_key = tuple((file_stamp(p), s) for p, s in loras)
    transformer = cached("wan_transformer", (file_stamp(model_path), policy, str(device), lora_key,
                                             resident_blocks), load)
    vae_dtype = torch.float32 if policy.compute == torch.float32 else torch.bfloat16
    codec = cached("wan_vae", (file_stamp(vae_path), vae_dtype, str(device)),
                   lambda: load_wan_vae(vae_path, vae_dtype, device))
    return WanModels(transformer, codec)
