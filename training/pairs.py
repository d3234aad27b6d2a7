"""Which (reference frame, target window) pairs a training step sees: pre-classified sampling (SPEC §1.5).

Swapped pairs, where people changed sides between the reference and the target, are what identity binding has
to learn and are rare in natural clips; they are drawn with probability β from the clip's swap table, the rest
uniformly among pairs at most ``margin`` frames apart (Moore's ``sample_margin``).
"""
from __future__ import annotations

import numpy as np

SWAP_PROBABILITY = 0.5
SAMPLE_MARGIN = 30


def sample_pair(rng: np.random.Generator, frames: int, window: int, swap_pairs: np.ndarray,
                beta: float = SWAP_PROBABILITY, margin: int = SAMPLE_MARGIN) -> tuple[int, int, bool]:
    """``(reference frame a, first target frame b, is_swap)`` with the target window ``b .. b+window−1`` inside
    the clip. Swap pairs whose window would run past the end are not eligible."""
    last_start = frames - window
    if last_start < 0:
        raise ValueError(f"a clip of {frames} frames cannot hold a {window}-frame window")
    eligible = swap_pairs[swap_pairs[:, 1] <= last_start] if len(swap_pairs) else swap_pairs
    if len(eligible) and rng.random() < beta:
        a, b = eligible[rng.integers(len(eligible))]
        return int(a), int(b), True
    b = int(rng.integers(last_start + 1))
    a = int(rng.integers(max(0, b - margin), min(frames - 1, b + margin) + 1))
    return a, b, False
