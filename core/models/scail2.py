"""SCAIL-2's in-context Wan transformer (SPEC §3.1–3.3), built on diffusers' ``WanTransformer3DModel``.

What SCAIL-2 changes about Wan2.1-I2V, and nothing else: the input is 20 channels ``[latent 16 ; mask 4]`` (no
y-concat); the sequence is ``[extra refs ; ref ; video ; driving]``; the driving video enters at half resolution
through its own ``patch_embedding_pose``; a 28-channel binding-slot mask is *added* through
``patch_embedding_mask`` (the video tokens get only its bias); each group has its own RoPE offset, chosen by mode;
the head reads only the video tokens. Blocks, attention, cross-attention and modulation are diffusers' own.

The forward is split into steps a caller can run (and cache) separately: ``embed_references``, ``embed_driving``
(both depend on the conditioning only), ``embed_video`` (the noisy latent), ``phasors`` (shapes only), then
``denoise_tokens``. ``Scail2Context.compat`` picks the conventions (``core.models.wan_forward``): ``official``
(the code the weights were trained with; the driving group's RoPE pools the full-resolution phasors over 2×2
blocks) or ``native`` (native ComfyUI, exactly: driving positions at scaled mid-points, no-CLIP image branch on
the text, masks may be absent and then add nothing, not even the bias, circular padding of odd sizes).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
from diffusers.configuration_utils import register_to_config
from diffusers.models.transformers.transformer_wan import WanTransformer3DModel
from torch import nn

from .rope import POOL_AVERAGE, Offset, ShiftedWanRope, positions, stack_groups
from .wan_forward import (NATIVE, OFFICIAL, CrossContext, check_compat, cross_context, head, pad_circular,
                          patch_tokens, run_blocks, time_conditions, unpatchify, use_split_cross_attention)

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


Grid = tuple[int, int, int]


@dataclass(frozen=True)
class Scail2Context:
    """Everything besides the noisy latent that SCAIL-2 reads, in the layouts of SPEC §3.2 (batch first).

    ``reference`` ``(B,16,1,h,w)`` and ``reference_mask`` ``(B,28,1,h,w)``; ``driving`` ``(B,16,F,h/2,w/2)`` and
    ``driving_mask`` ``(B,28,F,h/2,w/2)``; optional ``extra_references`` ``(B,16,Ra,h,w)`` with masks
    ``(B,28,Ra,h,w)``; ``history_frames`` leading latent frames of the video that are clean history (mask 1).

    ``compat="official"`` needs all four tensors and even latent sizes. ``compat="native"`` (native ComfyUI)
    accepts any of them absent (no reference: R = 0; no masks: nothing added) and any sizes: the driving group
    may have fewer frames and any spatial size, its positions are scaled to the video grid.
    """

    reference: torch.Tensor | None
    reference_mask: torch.Tensor | None
    driving: torch.Tensor | None
    driving_mask: torch.Tensor | None
    mode: str = ANIMATION
    extra_references: torch.Tensor | None = None
    extra_reference_masks: torch.Tensor | None = None
    history_frames: int = 0
    compat: str = OFFICIAL

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {self.mode!r}")
        check_compat(self.compat)
        if (self.extra_references is None) != (self.extra_reference_masks is None) and (
                self.compat == OFFICIAL or self.reference_mask is not None):
            raise ValueError("extra_references and extra_reference_masks must be given together")
        if self.extra_references is not None and self.reference is None:
            raise ValueError("extra_references need the primary reference")
        if self.compat == OFFICIAL:
            required = ("reference", "reference_mask", "driving", "driving_mask")
            missing = [n for n in required if getattr(self, n) is None]
            if missing:
                raise ValueError(f"{', '.join(missing)} missing: the official SCAIL-2 always has them "
                                 "(compat='native' accepts absent inputs)")
        elif self.reference_mask is not None and self.reference is None:
            raise ValueError("reference_mask given without a reference")

    def to(self, device: torch.device | str) -> Scail2Context:
        """The same context with every tensor on ``device``."""
        moved = {k: v.to(device) for k, v in self.__dict__.items() if isinstance(v, torch.Tensor)}
        return dataclasses.replace(self, **moved)

    @property
    def extra_count(self) -> int:
        return 0 if self.extra_references is None else self.extra_references.shape[2]

    @property
    def reference_frames(self) -> int:
        """R: stacked reference frames (extra references, then the primary one)."""
        return 0 if self.reference is None else 1 + self.extra_count

    def check(self, video_shape: torch.Size) -> None:
        """Raise ``ValueError`` naming the tensor whose shape does not fit a video latent of ``video_shape``."""
        b, _, f, h, w = video_shape
        native = self.compat == NATIVE
        if not native and (h % 2 or w % 2):
            raise ValueError(f"video latent {h}x{w} is not even; the official SCAIL-2 needs even latent sizes "
                             "(compat='native' pads circularly)")
        want: dict[str, tuple] = {"reference": (b, None, 1, h, w), "reference_mask": (b, MASK_CHANNELS, 1, h, w)}
        if native and self.driving is not None:
            fp, hp, wp = self.driving.shape[2:]
            want.update(driving=(b, None, None, None, None), driving_mask=(b, MASK_CHANNELS, fp, hp, wp))
        else:
            want.update(driving=(b, None, f, h // 2, w // 2), driving_mask=(b, MASK_CHANNELS, f, h // 2, w // 2))
        if self.extra_references is not None:
            ra = self.extra_count
            want["extra_references"] = (b, None, ra, h, w)
            want["extra_reference_masks"] = (b, MASK_CHANNELS, ra, h, w)
        for name, shape in want.items():
            value = getattr(self, name)
            if value is None:
                continue
            got = tuple(value.shape)
            if len(got) != 5 or any(s is not None and s != g for s, g in zip(shape, got)):
                raise ValueError(f"{name} has shape {got}, expected {tuple('*' if s is None else s for s in shape)}")
        if not 0 <= self.history_frames <= f:
            raise ValueError(f"history_frames={self.history_frames} outside 0..{f}")


@dataclass(frozen=True)
class TokenGroup:
    """One group of the sequence: ``tokens`` ``(B, N, dim)`` on a patch ``grid`` ``(f, h, w)``."""

    tokens: torch.Tensor
    grid: Grid

    @property
    def count(self) -> int:
        return self.tokens.shape[1]


def native_pose_positions(pose_grid: Grid, t_start: int, latent_hw: tuple[int, int]
                          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Native ComfyUI's driving-group positions: frame t from the video's first t, rows and columns spread over
    the video grid with ``scale = h / H_p`` (``H_p`` the padded pose latent height) at ``shift = (scale − 1)/2``,
    columns 120 to the right. At exactly half size these are the mid-points of the main grid's 2×2 patches."""
    f, hp, wp = pose_grid
    scale_h, scale_w = latent_hw[0] / (2 * hp), latent_hw[1] / (2 * wp)
    return (positions(f, t_start), positions(hp, (scale_h - 1) / 2, scale_h),
            positions(wp, SPATIAL_SHIFT + (scale_w - 1) / 2, scale_w))


def video_start(mode: str, reference_frames: int) -> int:
    """First t of the video (and driving) group: after the R references in animation; in replacement the
    first frame shares the primary reference's t (0 without references)."""
    return max(reference_frames - 1, 0) if mode == REPLACEMENT else reference_frames


def group_positions(mode: str, compat: str, ref_grid: Grid | None, video_grid: Grid, driving_grid: Grid | None,
                    latent_hw: tuple[int, int]) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None]:
    """Per-axis RoPE positions of each group in sequence order ``[references, video, driving]`` (absent groups
    left out). References: t = 0..R−1 (rows +120 in replacement); video: t from R (animation) or max(R−1, 0)
    (replacement: the first frame shares the primary reference's t); driving: the video's t, columns +120, at
    native's scaled mid-points, or None in the official mode, whose driving phasors are pooled instead."""
    r = 0 if ref_grid is None else ref_grid[0]
    groups: list = []
    if ref_grid is not None:
        groups.append((positions(r), positions(ref_grid[1], SPATIAL_SHIFT if mode == REPLACEMENT else 0),
                       positions(ref_grid[2])))
    t_video = video_start(mode, r)
    groups.append((positions(video_grid[0], t_video), positions(video_grid[1]), positions(video_grid[2])))
    if driving_grid is not None:
        groups.append(native_pose_positions(driving_grid, t_video, latent_hw) if compat == NATIVE else None)
    return groups


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
        use_split_cross_attention(self)

    def forward(self, hidden_states: torch.Tensor, timestep: torch.Tensor, encoder_hidden_states: torch.Tensor,
                encoder_hidden_states_image: torch.Tensor | None = None, context: Scail2Context | None = None,
                return_dict: bool = False) -> torch.Tensor:
        """Velocity for the video latent ``hidden_states`` ``(B,16,F,h,w)`` given the in-context ``context``."""
        if context is None:
            raise ValueError("Scail2Transformer needs a Scail2Context")
        context.check(hidden_states.shape)
        references, driving = self.embed_references(context), self.embed_driving(context)
        video = self.embed_video(hidden_states, context)
        phasors = self.phasors(context, hidden_states.shape, references, video, driving)
        return self.denoise_tokens(references, video, driving, phasors, timestep, encoder_hidden_states,
                                   encoder_hidden_states_image, context.compat, hidden_states.shape)

    def _patched(self, x: torch.Tensor, compat: str) -> torch.Tensor:
        return pad_circular(x, tuple(self.config.patch_size)) if compat == NATIVE else x

    def _mask_tokens(self, mask: torch.Tensor | None, compat: str) -> torch.Tensor | None:
        return None if mask is None else patch_tokens(self.patch_embedding_mask, self._patched(mask, compat))[0]

    def embed_references(self, ctx: Scail2Context) -> TokenGroup | None:
        """The reference frames ``[extra references..., primary]`` with their binding masks added (None if R=0)."""
        if ctx.reference is None:
            return None
        extra = [] if ctx.extra_references is None else [ctx.extra_references]
        latents = _given(torch.cat(extra + [ctx.reference], dim=2))
        tokens, grid = patch_tokens(self.patch_embedding, self._patched(latents, ctx.compat))
        if ctx.reference_mask is not None:
            extra_masks = [] if ctx.extra_reference_masks is None else [ctx.extra_reference_masks]
            tokens = tokens + self._mask_tokens(torch.cat(extra_masks + [ctx.reference_mask], dim=2),
                                                ctx.compat).to(tokens.dtype)
        return TokenGroup(tokens, tuple(grid))

    def embed_video(self, video: torch.Tensor, ctx: Scail2Context) -> TokenGroup:
        """The noisy video with its history mask; the all-zero video mask adds only the mask bias (when the
        reference masks are given)."""
        latents = torch.cat([video, _history_mask(video, ctx.history_frames)], dim=1)
        tokens, grid = patch_tokens(self.patch_embedding, self._patched(latents, ctx.compat))
        if ctx.reference_mask is not None:
            tokens = tokens + self.patch_embedding_mask.bias.to(tokens.dtype)
        return TokenGroup(tokens, tuple(grid))

    def embed_driving(self, ctx: Scail2Context) -> TokenGroup | None:
        """The half-resolution driving latent through ``patch_embedding_pose`` plus its binding mask."""
        if ctx.driving is None:
            return None
        tokens, grid = patch_tokens(self.patch_embedding_pose, self._patched(_given(ctx.driving), ctx.compat))
        if ctx.driving_mask is not None:
            tokens = tokens + self._mask_tokens(ctx.driving_mask, ctx.compat).to(tokens.dtype)
        return TokenGroup(tokens, tuple(grid))

    def phasors(self, ctx: Scail2Context, video_shape: torch.Size, references: TokenGroup | None,
                video: TokenGroup, driving: TokenGroup | None) -> tuple[torch.Tensor, torch.Tensor]:
        """RoPE ``(cos, sin)`` of the sequence, ``(1, L, 1, head_dim)``; cached per layout for a sampling run."""
        layout = (ctx.mode, ctx.compat, None if references is None else references.grid, video.grid,
                  None if driving is None else driving.grid, tuple(video_shape[-2:]))
        cached = getattr(self, "_phasor_cache", None)
        if cached is None or cached[0] != layout:
            self._phasor_cache = (layout, stack_groups(self._group_phasors(*layout)))
        device = video.tokens.device
        return tuple(p.to(device) for p in self._phasor_cache[1])  # type: ignore[return-value]

    def _group_phasors(self, mode: str, compat: str, ref_grid: Grid | None, video_grid: Grid,
                       driving_grid: Grid | None, latent_hw: tuple[int, int]
                       ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        groups = group_positions(mode, compat, ref_grid, video_grid, driving_grid, latent_hw)
        parts = [self.rope.at(*p) for p in groups if p is not None]
        if driving_grid is not None and groups[-1] is None:  # official: phasors pooled over the full grid
            t_video = video_start(mode, 0 if ref_grid is None else ref_grid[0])
            parts.append(self.rope.group(driving_grid, (t_video, 0, SPATIAL_SHIFT), POOL_AVERAGE))
        return parts

    def token_positions(self, ctx: Scail2Context, video_shape: torch.Size) -> torch.Tensor:
        """``(L, 3)`` float64 (t, h, w) RoPE position of every token in the native mode (what native ComfyUI
        feeds its RoPE); the official driving group has no single position (pooled phasors) and is refused."""
        if ctx.compat != NATIVE:
            raise ValueError("token positions exist for compat='native' only (official pools the driving phasors)")
        patch = tuple(self.config.patch_size)

        def grid(frames: int, h: int, w: int) -> Grid:
            return (frames, -(-h // patch[1]), -(-w // patch[2]))

        f, h, w = video_shape[2:]
        ref = None if ctx.reference is None else grid(ctx.reference_frames, h, w)
        drive = None if ctx.driving is None else grid(*ctx.driving.shape[2:])
        rows = []
        for pos in group_positions(ctx.mode, NATIVE, ref, grid(f, h, w), drive, (h, w)):
            t, hh, ww = torch.meshgrid(*pos, indexing="ij")
            rows.append(torch.stack([t, hh, ww], dim=-1).reshape(-1, 3))
        return torch.cat(rows)

    def denoise_tokens(self, references: TokenGroup | None, video: TokenGroup, driving: TokenGroup | None,
                       phasors: tuple[torch.Tensor, torch.Tensor], timestep: torch.Tensor, text: torch.Tensor,
                       image: torch.Tensor | None, compat: str, video_shape: torch.Size) -> torch.Tensor:
        """Run the blocks over ``[references ; video ; driving]`` and unpatchify the video tokens."""
        groups = [g for g in (references, video, driving) if g is not None]
        tokens = torch.cat([g.tokens for g in groups], dim=1) if len(groups) > 1 else video.tokens
        temb, proj = time_conditions(self, timestep, tokens.dtype, compat)
        cross = text if isinstance(text, CrossContext) else cross_context(  # embedded already (once per segment)
            self, text.to(tokens.dtype), None if image is None else image.to(tokens.dtype), compat)
        tokens = run_blocks(self, tokens, cross, proj, phasors)
        start = 0 if references is None else references.count
        out = head(self, tokens[:, start:start + video.count], temb)
        return unpatchify(out, video.grid, tuple(self.config.patch_size), tuple(video_shape[2:]))

    def sequence(self, video: torch.Tensor, ctx: Scail2Context
                 ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor], tuple[int, int]]:
        """Token sequence ``[extra refs ; ref ; video ; driving]``, its RoPE phasors, and the video token span."""
        ctx.check(video.shape)
        references, driving, group = self.embed_references(ctx), self.embed_driving(ctx), self.embed_video(video, ctx)
        phasors = self.phasors(ctx, video.shape, references, group, driving)
        tokens = torch.cat([g.tokens for g in (references, group, driving) if g is not None], dim=1)
        start = 0 if references is None else references.count
        return tokens, phasors, (start, start + group.count)


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
