"""Which Wan network a checkpoint holds, read from its key names and shapes alone (no config file needed).

ComfyUI files carry no config, so every size comes from a tensor shape: ``dim`` from the patch embedding,
``ffn_dim`` from ``ffn.0``, layers by counting ``blocks.N``, image conditioning from ``img_emb``. The variant comes
from keys only that variant has (as ComfyUI's ``model_detection.py`` does): SCAIL-2 adds ``patch_embedding_mask``
(28 mask channels) and ``patch_embedding_pose``. Heads are not visible in the weights; Wan uses 128-dim heads.
"""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

from ..errors import InputError
from .checkpoint import CheckpointReader
from .wan_keys import diffusers_to_original, is_original_layout

WAN_HEAD_DIM = 128

I2V = "wan2.1-i2v"
T2V = "wan2.1-t2v"
FLF2V = "wan2.1-flf2v"
SCAIL2 = "scail2"

# Keys of Wan-family networks this pack does not run, and what they are (ComfyUI model_detection order).
_UNSUPPORTED_MARKERS = {
    "vace_patch_embedding.weight": "Wan VACE",
    "control_adapter.conv.weight": "Wan Fun camera control",
    "casual_audio_encoder.encoder.final_linear.weight": "Wan S2V",
    "audio_proj.audio_proj_glob_1.layer.bias": "HuMo",
    "face_adapter.fuser_blocks.0.k_norm.weight": "Wan-Animate",
    "pose_patch_embedding.weight": "Wan-Animate",
}
# Key fragments of other model kinds a user may pick by mistake.
_OTHER_KIND_HINTS = (
    ((".lora_A.", ".lora_B.", ".lora_down.", ".lora_up.", "lora_unet_"), "a LoRA (load it as a LoRA, not a model)"),
    (("decoder.conv_in", "decoder.middle", "encoder.downsamples", "decoder.upsamples"), "a VAE"),
    (("visual.transformer", "vision_model.encoder"), "a CLIP vision encoder"),
    (("encoder.block.", "shared.weight", "token_embedding"), "a text encoder"),
    (("down_blocks.", "input_blocks.", "conv_in.weight"), "a UNet (SD/SVD), not a Wan transformer"),
)


@dataclass(frozen=True)
class WanArch:
    """Sizes and variant of a Wan transformer checkpoint."""

    variant: str
    dim: int
    in_channels: int
    out_channels: int
    num_layers: int
    ffn_dim: int
    text_dim: int
    freq_dim: int
    patch_size: tuple[int, int, int]
    cross_attn_norm: bool
    image_dim: int | None
    pos_embed_seq_len: int | None
    mask_channels: int | None
    head_dim: int = WAN_HEAD_DIM

    @property
    def num_heads(self) -> int:
        return self.dim // self.head_dim

    def diffusers_config(self) -> dict:
        """Keyword arguments of diffusers' ``WanTransformer3DModel`` for this network."""
        return {"patch_size": self.patch_size, "num_attention_heads": self.num_heads,
                "attention_head_dim": self.head_dim, "in_channels": self.in_channels,
                "out_channels": self.out_channels, "text_dim": self.text_dim, "freq_dim": self.freq_dim,
                "ffn_dim": self.ffn_dim, "num_layers": self.num_layers, "cross_attn_norm": self.cross_attn_norm,
                "image_dim": self.image_dim, "added_kv_proj_dim": self.dim if self.image_dim else None,
                "pos_embed_seq_len": self.pos_embed_seq_len}

    def as_dict(self) -> dict:
        return asdict(self)


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def detect_wan_arch(reader: CheckpointReader, head_dim: int | None = None,
                    input_name: str = "model file") -> WanArch:
    """Read a ``WanArch`` from a checkpoint, or raise ``InputError`` saying what the file looks like instead."""
    shapes = _original_shapes(reader)
    _refuse_non_wan(shapes, reader.name, input_name)
    config = reader.config or {}
    if head_dim is None:
        head_dim = config.get("attention_head_dim", WAN_HEAD_DIM)
    dim, in_channels, *patch = shapes["patch_embedding.weight"]
    heads = config.get("num_attention_heads", dim // head_dim if _positive_int(head_dim) else None)
    if not _positive_int(head_dim) or not _positive_int(heads) or heads * head_dim != dim:
        raise InputError(input_name, f"config.json of '{reader.name}' gives {heads!r} heads of size {head_dim!r}, "
                         f"which does not make the weights' width {dim}",
                         "use the config.json that was saved with these weights")
    if dim % head_dim:
        raise InputError(input_name, f"'{reader.name}' has width {dim}, not a multiple of the head size {head_dim}",
                         "this is not a standard Wan checkpoint")
    image_dim = shapes["img_emb.proj.0.weight"][0] if "img_emb.proj.0.weight" in shapes else None
    return WanArch(
        variant=_variant(shapes, in_channels), dim=dim, in_channels=in_channels,
        out_channels=shapes["head.head.weight"][0] // math.prod(patch),
        num_layers=len({int(m.group(1)) for k in shapes if (m := re.match(r"blocks\.(\d+)\.", k))}),
        ffn_dim=shapes["blocks.0.ffn.0.weight"][0], text_dim=shapes["text_embedding.0.weight"][1],
        freq_dim=shapes["time_embedding.0.weight"][1], patch_size=tuple(patch),
        cross_attn_norm="blocks.0.norm3.weight" in shapes, image_dim=image_dim,
        pos_embed_seq_len=shapes["img_emb.emb_pos"][1] if "img_emb.emb_pos" in shapes else None,
        mask_channels=shapes["patch_embedding_mask.weight"][1] if "patch_embedding_mask.weight" in shapes else None,
        head_dim=head_dim)


def _original_shapes(reader: CheckpointReader) -> dict[str, tuple[int, ...]]:
    shapes = reader.shapes()
    if is_original_layout(shapes):
        return shapes
    return {diffusers_to_original(k): v for k, v in shapes.items()}


def _variant(shapes: dict[str, tuple[int, ...]], in_channels: int) -> str:
    if "patch_embedding_mask.weight" in shapes:
        return SCAIL2
    if "img_emb.emb_pos" in shapes:
        return FLF2V
    if "img_emb.proj.0.weight" in shapes:
        return I2V
    return T2V


def _refuse_non_wan(shapes: dict[str, tuple[int, ...]], file_name: str, input_name: str) -> None:
    for key, family in _UNSUPPORTED_MARKERS.items():
        if key in shapes:
            raise InputError(input_name, f"'{file_name}' is a {family} checkpoint, which this loader does not run",
                             "choose a Wan2.1 I2V or SCAIL-2 checkpoint")
    if "patch_embedding_pose.weight" in shapes and "patch_embedding_mask.weight" not in shapes:
        raise InputError(input_name, f"'{file_name}' is a SCAIL (preview) checkpoint without the 28-channel mask "
                         "embedding", "choose the SCAIL-2 checkpoint")
    required = ("patch_embedding.weight", "head.head.weight", "blocks.0.ffn.0.weight", "text_embedding.0.weight",
                "time_embedding.0.weight")
    if all(k in shapes for k in required):
        return
    joined = " ".join(list(shapes)[:400])
    kind = next((what for fragments, what in _OTHER_KIND_HINTS if any(f in joined for f in fragments)), None)
    looks = f"it looks like {kind}" if kind else "its keys are not those of a Wan transformer"
    raise InputError(input_name, f"'{file_name}' is not a Wan transformer checkpoint ({looks})",
                     "choose a Wan2.1 I2V or SCAIL-2 file from models/diffusion_models")
