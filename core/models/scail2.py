"""SCAIL-2's in-context Wan transformer (SPEC §3.1–3.3), built on diffusers' ``WanTransformer3DModel``.

What SCAIL-2 changes about Wan2.1-I2V, and nothing else: the input is 20 channels ``[latent 16 ; mask 4]`` (no
y-concat); the sequence is ``[extra refs ; ref ; video ; driving]``; the driving video enters at half resolution
through its own ``patch_embedding_pose``; a 28-channel binding-slot mask is *added* through
``patch_embedding_mask`` (the video tokens get only its bias); each group has its own RoPE offset, chosen by mode;
the head reads only the video tokens. Blocks, attention, cross-attention and modulation are diffusers' own.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
from diffusers.configuration_utils import register_to_config
from diffusers.models.transformers.transformer_wan import WanTransformer3DModel
from torch import nn

from .rope import POOL_AVERAGE, Offset, ShiftedWanRope, stack_groups

ANIMATION = "animation"
REPLACEMENT = "replacement"
MODES = (ANIMATION, REPLACEMENT)
SPATIAL_SHIFT = 120  # rows/columns a group is moved in RoPE space (SCAIL-2 Table 1; WanVideoWrapper global_w_offset)
MASK_CHANNELS = 28  # 7 base colours (1 environment switch + 6 binding slots) × 4 folded sub-frames (SPEC §3.2)
GIVEN_MASK_CHANNELS = 4  # the I2V-style 4-channel "given" mask concatenated to every latent group


def group_offsets(mode: str, extra_refs: int = 0) -> dict[str, Offset]:
    """RoPE offsets ``(Δt, Δh, Δw)`` of each token group (SPEC §3.3).

    Animation: the reference is one time step before the video (the first frame is regenerated).
    Replacement: the reference sits at the video's time but 120 rows down (the first frame's scene is kept).
    The driving group is always 120 columns to the right.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    ra = extra_refs
    if mode == ANIMATION:
        return {"extra_refs": (0, 0, 0), "ref": (ra, 0, 0), "video": (1 + ra, 0, 0),
                "driving": (1 + ra, 0, SPATIAL_SHIFT)}
    return {"extra_refs": (0, SPATIAL_SHIFT, 0), "ref": (ra, SPATIAL_SHIFT, 0), "video": (ra, 0, 0),
            "driving": (ra, 0, SPATIAL_SHIFT)}


@dataclass(frozen=True)
class Scail2Context:
    """Everything besides the noisy latent that SCAIL-2 reads, in the layouts of SPEC §3.2 (batch first).

    ``reference`` ``(B,16,1,h,w)`` and ``reference_mask`` ``(B,28,1,h,w)``; ``driving`` ``(B,16,F,h/2,w/2)`` and
    ``driving_mask`` ``(B,28,F,h/2,w/2)``; optional ``extra_references`` ``(B,16,Ra,h,w)`` with masks
    ``(B,28,Ra,h,w)``; ``history_frames`` leading latent frames of the video that are clean history (mask 1).
    """

    reference: torch.Tensor
    reference_mask: torch.Tensor
    driving: torch.Tensor
    driving_mask: torch.Tensor
    mode: str = ANIMATION
    extra_references: torch.Tensor | None = None
    extra_reference_masks: torch.Tensor | None = None
    history_frames: int = 0
    half_res_rope: str = POOL_AVERAGE

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {self.mode!r}")
        if (self.extra_references is None) != (self.extra_reference_masks is None):
            raise ValueError("extra_references and extra_reference_masks must be given together")

    def to(self, device: torch.device | str) -> Scail2Context:
        """The same context with every tensor on ``device``."""
        moved = {k: v.to(device) for k, v in self.__dict__.items() if isinstance(v, torch.Tensor)}
        return dataclasses.replace(self, **moved)

    @property
    def extra_count(self) -> int:
        return 0 if self.extra_references is None else self.extra_references.shape[2]

    def check(self, video_shape: torch.Size) -> None:
        """Raise ``ValueError`` naming the tensor whose shape does not fit a video latent of ``video_shape``."""
        b, _, f, h, w = video_shape
        want = {"reference": (b, None, 1, h, w), "reference_mask": (b, MASK_CHANNELS, 1, h, w),
                "driving": (b, None, f, h // 2, w // 2), "driving_mask": (b, MASK_CHANNELS, f, h // 2, w // 2)}
        if self.extra_references is not None:
            ra = self.extra_count
            want["extra_references"] = (b, None, ra, h, w)
            want["extra_reference_masks"] = (b, MASK_CHANNELS, ra, h, w)
        for name, shape in want.items():
            got = tuple(getattr(self, name).shape)
            if len(got) != 5 or any(s is not None and s != g for s, g in zip(shape, got)):
                raise ValueError(f"{name} has shape {got}, expected {tuple('*' if s is None else s for s in shape)}")
        if not 0 <= self.history_frames <= f:
            raise ValueError(f"history_frames={self.history_frames} outside 0..{f}")


class Scail2Transformer(WanTransformer3DModel):
    """Wan2.1-I2V with SCAIL-2's pose and mask patch embeddings and in-context forward."""

    @register_to_config
    def __init__(self, patch_size: tuple[int, ...] = (1, 2, 2), num_attention_heads: int = 40,
                 attention_head_dim: int = 128, in_channels: int = 20, out_channels: int = 16, text_dim: int = 4096,
                 freq_dim: int = 256, ffn_dim: int = 13824, num_layers: int = 40, cross_attn_norm: bool = True,
                 qk_norm: str | None = "rms_norm_across_heads", eps: float = 1e-6, image_dim: int | None = 1280,
                 added_kv_proj_dim: int | None = 5120, rope_max_seq_len: int = 1024,
                 pos_embed_seq_len: int | None = None, mask_channels: int = MASK_CHANNELS) -> None:
        super().__init__(patch_size=patch_size, num_attention_heads=num_attention_heads,
                         attention_head_dim=attention_head_dim, in_channels=in_channels, out_channels=out_channels,
                         text_dim=text_dim, freq_dim=freq_dim, ffn_dim=ffn_dim, num_layers=num_layers,
                         cross_attn_norm=cross_attn_norm, qk_norm=qk_norm, eps=eps, image_dim=image_dim,
                         added_kv_proj_dim=added_kv_proj_dim, rope_max_seq_len=rope_max_seq_len,
                         pos_embed_seq_len=pos_embed_seq_len)
        inner = num_attention_heads * attention_head_dim
        patch = tuple(patch_size)
        self.rope = ShiftedWanRope(attention_head_dim, patch, rope_max_seq_len)
        self.patch_embedding_pose = nn.Conv3d(in_channels, inner, kernel_size=patch, stride=patch)
        self.patch_embedding_mask = nn.Conv3d(mask_channels, inner, kernel_size=patch, stride=patch)

    def forward(self, hidden_states: torch.Tensor, timestep: torch.Tensor, encoder_hidden_states: torch.Tensor,
                encoder_hidden_states_image: torch.Tensor | None = None, context: Scail2Context | None = None,
                return_dict: bool = False) -> torch.Tensor:
        """Velocity for the video latent ``hidden_states`` ``(B,16,F,h,w)`` given the in-context ``context``."""
        if context is None:
            raise ValueError("Scail2Transformer needs a Scail2Context")
        context.check(hidden_states.shape)
        tokens, phasors, video_span = self._sequence(hidden_states, context)
        temb, proj, text = self._conditions(timestep, encoder_hidden_states, encoder_hidden_states_image)
        for block in self.blocks:
            if torch.is_grad_enabled() and self.gradient_checkpointing:
                tokens = self._gradient_checkpointing_func(block, tokens, text, proj, phasors)
            else:
                tokens = block(tokens, text, proj, phasors)
        video = tokens[:, video_span[0]:video_span[1]]
        return self._unpatchify(self._head(video, temb), hidden_states.shape)

    def _sequence(self, video: torch.Tensor, ctx: Scail2Context
                  ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor], tuple[int, int]]:
        """Token sequence ``[extra refs ; ref ; video ; driving]``, its RoPE phasors, and the video token span."""
        offsets = group_offsets(ctx.mode, ctx.extra_count)
        groups: list[tuple[str, torch.Tensor, torch.Size, str | None]] = []
        if ctx.extra_references is not None:
            tokens = self._embed(self.patch_embedding, _given(ctx.extra_references), ctx.extra_reference_masks)
            groups.append(("extra_refs", *tokens, None))
        groups.append(("ref", *self._embed(self.patch_embedding, _given(ctx.reference), ctx.reference_mask), None))
        history = _history_mask(video, ctx.history_frames)
        video_tokens, video_grid = self._embed(self.patch_embedding, torch.cat([video, history], 1), None)
        groups.append(("video", video_tokens, video_grid, None))
        driving = self._embed(self.patch_embedding_pose, _given(ctx.driving), ctx.driving_mask)
        groups.append(("driving", *driving, ctx.half_res_rope))
        layout = tuple((name, tuple(grid), offsets[name], half) for name, _, grid, half in groups)
        phasors = self._phasors(layout)
        start = sum(t.shape[1] for name, t, _, _ in groups[: [g[0] for g in groups].index("video")])
        tokens = torch.cat([t for _, t, _, _ in groups], dim=1)
        return tokens, (phasors[0].to(tokens.device), phasors[1].to(tokens.device)), (start,
                                                                                       start + video_tokens.shape[1])

    def _phasors(self, layout: tuple) -> tuple[torch.Tensor, torch.Tensor]:
        """RoPE of a token layout, computed once and reused by every step of a sampling run."""
        cached = getattr(self, "_phasor_cache", None)
        if cached is None or cached[0] != layout:
            value = stack_groups([self.rope.group(grid, offset, half) for _, grid, offset, half in layout])
            self._phasor_cache = (layout, value)
            cached = self._phasor_cache
        return cached[1]

    def _embed(self, conv: nn.Conv3d, latent: torch.Tensor, mask: torch.Tensor | None
               ) -> tuple[torch.Tensor, torch.Size]:
        """Patch tokens ``(B, N, dim)`` of one group plus its mask embedding (bias only when there is no mask)."""
        x = conv(latent.to(conv.weight.dtype))
        if mask is None:
            x = x + self.patch_embedding_mask.bias.to(x.dtype)[None, :, None, None, None]
        else:
            x = x + self.patch_embedding_mask(mask.to(self.patch_embedding_mask.weight.dtype)).to(x.dtype)
        return x.flatten(2).transpose(1, 2).contiguous(), x.shape[2:]

    def _conditions(self, timestep: torch.Tensor, text: torch.Tensor, image: torch.Tensor | None
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        temb, proj, text, image = self.condition_embedder(timestep, text, image)
        if image is not None:
            text = torch.cat([image, text], dim=1)
        return temb, proj.unflatten(1, (6, -1)), text

    def _head(self, tokens: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        shift, scale = (self.scale_shift_table.to(temb.device) + temb.unsqueeze(1)).chunk(2, dim=1)
        tokens = (self.norm_out(tokens.float()) * (1 + scale) + shift).type_as(tokens)
        return self.proj_out(tokens)

    def _unpatchify(self, tokens: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        b, _, f, h, w = shape
        pt, ph, pw = self.config.patch_size
        x = tokens.reshape(b, f // pt, h // ph, w // pw, pt, ph, pw, -1)
        return x.permute(0, 7, 1, 4, 2, 5, 3, 6).reshape(b, -1, f, h, w)


def _given(latent: torch.Tensor) -> torch.Tensor:
    """``[latent ; ones 4]``: a clean conditioning latent is entirely "given" (SPEC §3.1)."""
    ones = latent.new_ones(latent.shape[0], GIVEN_MASK_CHANNELS, *latent.shape[2:])
    return torch.cat([latent, ones], dim=1)


def _history_mask(video: torch.Tensor, history_frames: int) -> torch.Tensor:
    """The video group's 4-channel mask: 1 on leading clean history frames, 0 elsewhere (SPEC §3.6)."""
    mask = video.new_zeros(video.shape[0], GIVEN_MASK_CHANNELS, *video.shape[2:])
    mask[:, :, :history_frames] = 1
    return mask


def token_layout(video_shape: tuple[int, ...], patch_size: tuple[int, int, int] = (1, 2, 2), extra_refs: int = 0
                 ) -> dict[str, int]:
    """Tokens per group, in sequence order, for a video latent of ``video_shape`` ``(B,C,F,h,w)`` (SPEC §3.1)."""
    _, _, f, h, w = video_shape
    pt, ph, pw = patch_size
    per_frame = (h // ph) * (w // pw)
    return {"extra_refs": extra_refs * per_frame, "ref": per_frame, "video": (f // pt) * per_frame,
            "driving": (f // pt) * math.prod((h // 2 // ph, w // 2 // pw))}
