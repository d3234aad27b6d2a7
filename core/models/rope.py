"""Wan 3-D RoPE for token groups placed at chosen offsets (SPEC §0.3).

In-context models put several token groups in one sequence (reference, video, driving). Each group gets the
standard Wan phasors of its own grid, shifted by ``(Δt, Δh, Δw)`` so groups do not collide in position space.
Half-resolution groups (SCAIL-2's driving tokens) either average the full-resolution phasors over 2×2 windows
(the official SCAIL-2 code; magnitude shrinks to cos(θ/2)) or sit at the 2×2 mid-points (ComfyUI's port).
Pairs are adjacent elements, as in diffusers' ``WanRotaryPosEmbed`` (``repeat_interleave_real``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers.models.transformers.transformer_wan import WanRotaryPosEmbed

Grid = tuple[int, int, int]
Offset = tuple[float, float, float]

POOL_AVERAGE = "average"
POOL_MIDPOINT = "midpoint"


class ShiftedWanRope(WanRotaryPosEmbed):
    """``WanRotaryPosEmbed`` plus phasors for one shifted (optionally half-resolution) token group."""

    def axis_dims(self) -> tuple[int, int, int]:
        return self.t_dim, self.h_dim, self.w_dim

    def group(self, grid: Grid, offset: Offset = (0, 0, 0), half_res: str | None = None
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(cos, sin)`` of shape ``(f·h·w, head_dim)`` for a group of patch grid ``grid`` at ``offset``.

        ``half_res`` is None for a full-resolution group, ``"average"`` or ``"midpoint"`` for a group whose grid is
        half of the position grid it stands for.
        """
        if half_res is None:
            return self._phasors(*(_positions(n, o) for n, o in zip(grid, offset)))
        if half_res == POOL_MIDPOINT:
            t, h, w = grid
            return self._phasors(_positions(t, offset[0]), _positions(h, offset[1] + 0.5, 2.0),
                                 _positions(w, offset[2] + 0.5, 2.0))
        if half_res != POOL_AVERAGE:
            raise ValueError(f"half_res must be None, {POOL_AVERAGE!r} or {POOL_MIDPOINT!r}, not {half_res!r}")
        return self._pooled(grid, offset)

    def _pooled(self, grid: Grid, offset: Offset) -> tuple[torch.Tensor, torch.Tensor]:
        t, h, w = grid
        full = (t, 2 * h, 2 * w)
        cos, sin = self._phasors(*(_positions(n, o) for n, o in zip(full, offset)))

        def pool(x: torch.Tensor) -> torch.Tensor:
            x = x.reshape(t, 2 * h, 2 * w, -1).permute(0, 3, 1, 2)
            return F.avg_pool2d(x, 2, 2).permute(0, 2, 3, 1).reshape(t * h * w, -1)

        return pool(cos), pool(sin)

    def at(self, pos_t: torch.Tensor, pos_h: torch.Tensor, pos_w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(cos, sin)`` of the grid of explicit per-axis positions (any real values, e.g. native's pose grid)."""
        return self._phasors(pos_t, pos_h, pos_w)

    def _phasors(self, pos_t: torch.Tensor, pos_h: torch.Tensor, pos_w: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        limit = self.max_seq_len
        if max(float(p.max()) if p.numel() else 0.0 for p in (pos_t, pos_h, pos_w)) >= limit:
            raise ValueError(f"RoPE position beyond rope_max_seq_len={limit}; raise it in the model config")
        return _grid(pos_t, pos_h, pos_w, self.axis_dims(), self.freqs_cos.device)


def axis_dims(head_dim: int) -> tuple[int, int, int]:
    """Rotary dims of the t, h, w axes for one head (Wan: ``d − 4⌊d/6⌋, 2⌊d/6⌋, 2⌊d/6⌋``)."""
    hw = 2 * (head_dim // 6)
    return head_dim - 2 * hw, hw, hw


def grid_phasors(pos_t: torch.Tensor, pos_h: torch.Tensor, pos_w: torch.Tensor, head_dim: int
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(cos, sin)`` ``(t·h·w, head_dim)`` float32 of a position grid, angles in float64 (Wan, native)."""
    return _grid(pos_t, pos_h, pos_w, axis_dims(head_dim), pos_t.device)


def _grid(pos_t: torch.Tensor, pos_h: torch.Tensor, pos_w: torch.Tensor, dims: tuple[int, int, int],
          device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    angles = [_angles(p.double(), d, device) for p, d in zip((pos_t, pos_h, pos_w), dims)]
    t, h, w = (a.shape[0] for a in angles)
    grid = torch.cat([angles[0][:, None, None].expand(t, h, w, -1),
                      angles[1][None, :, None].expand(t, h, w, -1),
                      angles[2][None, None, :].expand(t, h, w, -1)], dim=-1).reshape(t * h * w, -1)
    return grid.cos().float(), grid.sin().float()


def positions(count: int, start: float = 0.0, step: float = 1.0) -> torch.Tensor:
    """``start + i·step`` for ``i < count`` as float32 ``linspace`` values (what native ComfyUI feeds its RoPE),
    promoted to float64 for the angles."""
    return torch.linspace(start, start + (count - 1) * step, count, dtype=torch.float32).double()


def _positions(count: int, offset: float, step: float = 1.0) -> torch.Tensor:
    return offset + step * torch.arange(count, dtype=torch.float64)


def _angles(positions: torch.Tensor, axis_dim: int, device: torch.device, theta: float = 10000.0) -> torch.Tensor:
    """Angles ``pos · θ^(−2j/D)``, each repeated twice for adjacent-pair rotation; shape ``(n, axis_dim)``."""
    inv_freq = theta ** (-torch.arange(0, axis_dim, 2, dtype=torch.float64)[: axis_dim // 2] / axis_dim)
    return (positions[:, None] * inv_freq[None, :]).repeat_interleave(2, dim=1).to(device)


def stack_groups(parts: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Concatenate per-group phasors in token order, shaped ``(1, L, 1, head_dim)`` as diffusers' attention expects."""
    cos = torch.cat([c for c, _ in parts]).reshape(1, -1, 1, parts[0][0].shape[-1])
    sin = torch.cat([s for _, s in parts]).reshape(1, -1, 1, parts[0][1].shape[-1])
    return cos, sin
