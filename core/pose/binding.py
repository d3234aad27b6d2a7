"""Which tracked person plays which reference character, decided once (architecture: "identity map").

Default: the tracks present in the binding frame, left to right, take the reference characters left to right
(ED's ``r_1…r_m`` convention); tracks absent there follow in order of first appearance. A user overrides any
pairing with ``"character=track"`` entries (``"0=2, 1=0"``); the remaining tracks keep their default order. The
result is the same poses with column ``k`` (and track id ``k``) being reference character ``k``, so every later
stage reads identity from the id alone.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from .sequence import PoseSequence
from .wholebody import BODY


def left_to_right(sequence: PoseSequence, frame: int = 0, min_confidence: float = 0.3) -> list[int]:
    """Track ids ordered left to right by mean body x in ``frame``; tracks absent there follow by first
    appearance."""
    kp = sequence.keypoints[:, :, BODY]
    seen = kp[..., 2] > min_confidence
    mean_x = (kp[..., 0] * seen).sum(-1) / np.maximum(seen.sum(-1), 1)
    here = [p for p in range(sequence.num_people) if seen[frame, p].any()]
    here.sort(key=lambda p: mean_x[frame, p])
    first = {p: int(np.argmax(seen[:, p].any(-1))) if seen[:, p].any() else sequence.num_frames
             for p in range(sequence.num_people)}
    rest = sorted((p for p in range(sequence.num_people) if p not in here), key=lambda p: (first[p], p))
    return [sequence.track_ids[p] for p in here + rest]


def parse_overrides(text: str) -> dict[int, int]:
    """``"0=2, 1=0"`` → ``{0: 2, 1: 0}`` (reference character → track id)."""
    pairs: dict[int, int] = {}
    for item in text.replace(";", ",").split(","):
        if not item.strip():
            continue
        try:
            character, track = (int(v) for v in item.replace(":", "=").split("="))
        except ValueError:
            raise InputError("binding", f"cannot read {item.strip()!r}",
                             "write character=track pairs, e.g. '0=2, 1=0'") from None
        if character in pairs:
            raise InputError("binding", f"character {character} is bound twice", "bind each character once")
        pairs[character] = track
    if len(set(pairs.values())) != len(pairs):
        raise InputError("binding", "one track is bound to two characters", "bind each track once")
    return pairs


def binding_order(sequence: PoseSequence, frame: int = 0, overrides: str = "") -> list[int]:
    """Track id of each reference character in slot order, overrides first, defaults filling the rest."""
    if not 0 <= frame < max(sequence.num_frames, 1):
        raise InputError("binding_frame", f"frame {frame} is outside the clip's {sequence.num_frames} frames",
                         "use 0 for the first frame")
    pairs = parse_overrides(overrides)
    unknown = sorted(set(pairs.values()) - set(sequence.track_ids))
    if unknown:
        raise InputError("binding", f"track id(s) {unknown} do not exist (tracks: {list(sequence.track_ids)})",
                         "bind characters to existing track ids")
    if pairs and max(pairs) >= sequence.num_people:
        raise InputError("binding", f"character {max(pairs)} but only {sequence.num_people} tracks",
                         f"use characters 0..{sequence.num_people - 1}")
    defaults = iter(t for t in left_to_right(sequence, frame) if t not in pairs.values())
    return [pairs[k] if k in pairs else next(defaults) for k in range(sequence.num_people)]


def bind_references(sequence: PoseSequence, frame: int = 0, overrides: str = "",
                    characters: int = 0) -> PoseSequence:
    """``sequence`` with columns in reference-character order and track ids renumbered to the character index;
    ``characters > 0`` keeps only that many (the rest are people without a reference)."""
    order = binding_order(sequence, frame, overrides)
    if characters > 0:
        order = order[:characters]
    cols = [sequence.column(t) for t in order]
    depth = None if sequence.depth is None else sequence.depth[:, cols]
    return PoseSequence(sequence.keypoints[:, cols], tuple(range(len(cols))), sequence.width, sequence.height,
                        sequence.fps, depth)
