"""The reference IEG: the reference people's skeletons in the slot colours of the characters they play.

EverybodyDance feeds the reference frame's identity-coloured skeleton to the RefPoseGuider (SPEC §1.1, §1.7), so
its hues must be exactly those of the driving IEG video: each reference person is drawn in the slot of the
character cut from it (``CharacterSet``), with the shared renderer (``core.render.skeleton``, palette ``ieg``).
People on the reference image that play no character are left out.
"""
from __future__ import annotations

import numpy as np

from ...conditioning.characters import CharacterSet
from ...errors import InputError
from ...pose.sequence import PoseSequence
from ...render.skeleton import SkeletonStyle, render_skeletons

IEG_STYLE = SkeletonStyle(palette="ieg")


def render_reference_ieg(reference_poses: PoseSequence, characters: CharacterSet, height: int, width: int,
                         style: SkeletonStyle = IEG_STYLE) -> np.ndarray:
    """``(height, width, 3)`` float32 0..1: frame 0 of ``reference_poses`` drawn in the characters' slots."""
    slot_of = {c.reference_id: c.slot for c in characters.characters}
    missing = sorted(set(slot_of) - set(reference_poses.track_ids))
    if missing:
        raise InputError("reference_poses", f"reference people {missing} of the characters are not in these poses",
                         "connect the reference poses the characters were built from")
    ids = [t for t in reference_poses.track_ids if t in slot_of]
    frame = reference_poses.frames(0, 1).select(ids)
    slots = np.array([slot_of[t] for t in ids])
    return render_skeletons(frame, slots, width, height, style)[0].astype(np.float32) / 255.0
