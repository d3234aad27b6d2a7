"""Sizes of the AnimateAnyone networks: the released SD1.5 sizes, and a tiny variant for CPU tests.

The release's numbers (SPEC §1.1; Moore-AnimateAnyone ``configs/inference/inference_v2.yaml`` and the manifests in
``shared/manifests/animateanyone_*.json``): SD1.5 UNet (320, 640, 1280, 1280), 8 heads everywhere, CLIP context 768;
pose guider (16, 32, 96, 256) → 320 (not the class default (16, 32, 64, 128)); motion modules with 8 heads, one
block of two temporal self-attentions, sinusoidal positions up to 32 frames, also in the mid block.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass

LATENT_CHANNELS = 4
MOORE_MOTION_NORM_GROUPS = 32  # VanillaTemporalModule never passes a group count: GroupNorm's default 32
VAE_SCALE = 0.18215  # sd-vae-ft-mse latent scaling (SPEC §0.1)


@dataclass(frozen=True)
class AnimateAnyoneConfig:
    """Everything that decides parameter shapes of the four AnimateAnyone networks."""

    block_out_channels: tuple[int, ...] = (320, 640, 1280, 1280)
    layers_per_block: int = 2
    norm_num_groups: int = 32
    attention_heads: int = 8
    cross_attention_dim: int = 768
    pose_guider_channels: tuple[int, ...] = (16, 32, 96, 256)
    motion_heads: int = 8
    motion_norm_num_groups: int = MOORE_MOTION_NORM_GROUPS  # Moore's VanillaTemporalModule GroupNorm: always 32, whatever the UNet's
    motion_max_frames: int = 32
    vae_block_out_channels: tuple[int, ...] = (128, 256, 512, 512)
    vae_norm_num_groups: int = 32
    vae_layers_per_block: int = 2  # sd-vae-ft-mse
    clip_hidden_size: int = 1024
    clip_layers: int = 24
    clip_heads: int = 16
    clip_intermediate_size: int = 4096
    clip_image_size: int = 224
    clip_patch_size: int = 14

    def __post_init__(self) -> None:
        object.__setattr__(self, "block_out_channels", tuple(int(c) for c in self.block_out_channels))
        for name in ("pose_guider_channels", "vae_block_out_channels"):
            object.__setattr__(self, name, tuple(int(c) for c in getattr(self, name)))
        if len(self.block_out_channels) < 2:
            raise ValueError("block_out_channels needs at least two levels")
        if any(c % self.norm_num_groups or c % self.attention_heads for c in self.block_out_channels):
            raise ValueError("every block width must divide by norm_num_groups and attention_heads")
        if any(c % self.motion_norm_num_groups for c in self.block_out_channels):
            raise ValueError("every block width must divide by motion_norm_num_groups (32 in Moore's release)")
        if len(self.pose_guider_channels) != len(self.vae_block_out_channels):
            raise ValueError("the pose guider must downscale as much as the VAE (one stride-2 conv per VAE level)")

    @property
    def vae_downscale(self) -> int:
        """Pixels per latent cell (8 for SD1.5)."""
        return 2 ** (len(self.vae_block_out_channels) - 1)

    @property
    def down_block_types(self) -> tuple[str, ...]:
        return ("CrossAttnDownBlock2D",) * (len(self.block_out_channels) - 1) + ("DownBlock2D",)

    @property
    def up_block_types(self) -> tuple[str, ...]:
        return ("UpBlock2D",) + ("CrossAttnUpBlock2D",) * (len(self.block_out_channels) - 1)

    @classmethod
    def from_dict(cls, values: dict) -> AnimateAnyoneConfig:
        return cls(**values)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> AnimateAnyoneConfig:
        return cls.from_dict(json.loads(text))


SD15 = AnimateAnyoneConfig()

# Small enough for a CPU test to run the whole pipeline in about a second (diffusers' tiny-config sizes,
# shared/notes/dependencies.md §1.4).
TINY = AnimateAnyoneConfig(block_out_channels=(32, 64), layers_per_block=1, norm_num_groups=8, attention_heads=4,
                           cross_attention_dim=32, pose_guider_channels=(8, 16), motion_heads=4,
                           motion_norm_num_groups=32, motion_max_frames=32, vae_block_out_channels=(16, 32),
                           vae_norm_num_groups=8, clip_hidden_size=32, clip_layers=1, clip_heads=2,
                           clip_intermediate_size=64, clip_image_size=32, clip_patch_size=8)

# Safetensors metadata key that records a non-standard config next to the weights.
CONFIG_METADATA_KEY = "choreograph.animate_anyone.config"


def config_from_moore(moore: dict) -> AnimateAnyoneConfig:
    """Our sizes from a Moore-style ``config.json`` (constructor arguments of ``reference_unet``,
    ``denoising_unet``, ``pose_guider``, ``vae``, ``image_encoder``), e.g. a tiny model built with Moore's code.

    Refuses what our networks cannot express (another block layout, motion modules missing from some levels).
    """
    ref, den, pose = moore["reference_unet"], moore["denoising_unet"], moore["pose_guider"]
    vae, clip = moore["vae"], moore["image_encoder"]
    motion = den.get("motion_module_kwargs", {})
    levels = len(ref["block_out_channels"])
    expected_down = ["CrossAttnDownBlock2D"] * (levels - 1) + ["DownBlock2D"]
    problems = []
    if list(ref["down_block_types"]) != expected_down:
        problems.append(f"down blocks {ref['down_block_types']} (we build {expected_down})")
    if ref.get("use_linear_projection") or den.get("use_linear_projection"):
        problems.append("use_linear_projection=True")
    if not den.get("motion_module_mid_block", True) or den.get("motion_module_decoder_only", False):
        problems.append("motion modules missing from the mid block or the encoder")
    if den.get("motion_module_resolutions") and len(set(den["motion_module_resolutions"]) & {1, 2, 4, 8}) < 4:
        problems.append(f"motion_module_resolutions {den['motion_module_resolutions']} (we put one in every block)")
    if motion.get("attention_block_types", ["Temporal_Self"] * 2) != ["Temporal_Self", "Temporal_Self"]:
        problems.append(f"attention_block_types {motion['attention_block_types']}")
    if pose["conditioning_embedding_channels"] != ref["block_out_channels"][0]:
        problems.append("a pose guider width other than the UNet's first block width")
    heads = {"UNet": ref["attention_head_dim"], "motion": motion.get("num_attention_heads", 8)}
    for what, value in heads.items():
        if isinstance(value, (list, tuple)) and len(set(value)) != 1:
            problems.append(f"{what} head counts {value} differing per block (we use one count)")
    if clip.get("projection_dim", ref["cross_attention_dim"]) != ref["cross_attention_dim"]:
        problems.append("a CLIP projection width other than the UNet's cross-attention width")
    if clip.get("hidden_act", "quick_gelu") != "quick_gelu":
        problems.append(f"CLIP activation {clip['hidden_act']} (sd-image-variations uses quick_gelu)")
    if problems:
        raise ValueError("this Moore config has " + "; ".join(problems))
    return AnimateAnyoneConfig(
        block_out_channels=tuple(ref["block_out_channels"]), layers_per_block=ref["layers_per_block"],
        norm_num_groups=ref["norm_num_groups"], attention_heads=_single(heads["UNet"]),
        cross_attention_dim=ref["cross_attention_dim"], pose_guider_channels=tuple(pose["block_out_channels"]),
        motion_heads=_single(heads["motion"]), motion_norm_num_groups=MOORE_MOTION_NORM_GROUPS,
        motion_max_frames=motion.get("temporal_position_encoding_max_len", 24),
        vae_block_out_channels=tuple(vae["block_out_channels"]), vae_norm_num_groups=vae["norm_num_groups"],
        vae_layers_per_block=vae.get("layers_per_block", 2),
        clip_hidden_size=clip["hidden_size"], clip_layers=clip["num_hidden_layers"],
        clip_heads=clip["num_attention_heads"], clip_intermediate_size=clip["intermediate_size"],
        clip_image_size=clip["image_size"], clip_patch_size=clip["patch_size"])


def _single(value: int | list[int]) -> int:
    """A per-block list of equal counts as one count (diffusers accepts both forms)."""
    return int(value[0]) if isinstance(value, (list, tuple)) else int(value)
