"""Matmul FLOPs of a Wan/SCAIL-2 transformer block and the dense bf16 peak of common GPUs, for MFU.

Only matrix products count (2 FLOPs per multiply-add); norms, RoPE, modulation and softmax are a few percent and
are left out, so the MFU reported is the usual "model FLOPs utilisation" and slightly understates the work done.
"""
from __future__ import annotations

from dataclasses import dataclass

# Dense (no sparsity) bf16 tensor-core peaks in TFLOP/s, from the vendors' data sheets (None: no trustworthy
# figure; pass --peak-tflops). Longer names first: the first substring of the device name that matches wins.
PEAK_BF16_TFLOPS: tuple[tuple[str, float | None], ...] = (
    ("H100 PCIe", 756.0), ("H100 NVL", 835.0), ("GH200", 989.4), ("H200", 989.4), ("H100", 989.4), ("H800", 989.4),
    ("B200", 2250.0), ("B100", 1750.0), ("A100", 312.0), ("A800", 312.0), ("L40S", 362.1), ("L40", 181.0),
    ("L4", 121.0), ("A10G", None), ("A10", 125.0), ("RTX 4090", 165.2), ("RTX 3090", 71.0), ("A6000", 154.8),
)


def device_peak_tflops(name: str) -> float | None:
    """The dense bf16 peak of a GPU named ``name`` (``torch.cuda.get_device_name``), or None when unknown."""
    for fragment, peak in PEAK_BF16_TFLOPS:
        if fragment.lower() in name.lower():
            return peak
    return None


@dataclass(frozen=True)
class BlockShape:
    """One transformer block's sizes: ``tokens`` in the self-attention sequence, ``context`` cross-attention
    tokens (text + image), width ``dim``, feed-forward width ``ffn``, and whether image tokens get their own
    key/value projections (Wan I2V / SCAIL-2: 257 CLIP tokens)."""

    tokens: int
    context_text: int
    context_image: int
    dim: int
    ffn: int

    def flops(self) -> dict[str, float]:
        """Matmul FLOPs per forward, by part."""
        n, d = self.tokens, self.dim
        context = self.context_text + self.context_image
        return {
            "self-attention projections": 2 * n * d * d * 4,  # q, k, v, out
            "self-attention": 2 * 2 * n * n * d,  # QKᵀ and AV over all heads
            "cross-attention projections": 2 * n * d * d * 2 + 2 * context * d * d * 2,  # q, out; k, v
            "cross-attention": 2 * 2 * n * context * d,
            "feed-forward": 2 * n * d * self.ffn * 2,
        }

    def total(self) -> float:
        return sum(self.flops().values())


def attention_flops(batch: int, heads: int, tokens: int, head_dim: int, keys: int | None = None) -> float:
    """FLOPs of one scaled-dot-product attention call (QKᵀ and AV)."""
    return 4.0 * batch * heads * tokens * (tokens if keys is None else keys) * head_dim
