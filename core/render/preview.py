"""A human check of the conditioning: frames with each identity's mask tinted in its slot colour, its
identity skeleton on top, and a label "id · colour" above the head, so a wrong binding is visible at a glance."""
from __future__ import annotations

import cv2
import numpy as np

from ..errors import InputError
from ..pose.sequence import PoseSequence
from ..video.frames import to_uint8_rgb
from .masks import IdentityMasks
from .occlusion import back_to_front
from .palette import SLOT_NAMES, SLOT_RGB
from .skeleton import SkeletonStyle, render_skeletons


def _label_anchor(keypoints: np.ndarray, scale: tuple[float, float], min_score: float) -> tuple[int, int] | None:
    seen = keypoints[:, 2] > min_score
    if not seen.any():
        return None
    x = float(keypoints[seen, 0].mean()) * scale[0]
    y = float(keypoints[seen, 1].min()) * scale[1]
    return int(x), max(12, int(y) - 8)


def preview(frames: np.ndarray, poses: PoseSequence, slots: np.ndarray, masks: IdentityMasks | None = None,
            mask_opacity: float = 0.4, labels: bool = True, min_score: float = 0.3) -> np.ndarray:
    """``(T, H, W, 3)`` uint8 overlay of masks, identity skeletons and labels on ``frames``."""
    out = to_uint8_rgb(frames, "frames").copy()  # drawn on in place; the caller's frames stay untouched
    if out.ndim != 4 or out.shape[0] != poses.num_frames:
        raise InputError("frames", f"shape {out.shape} does not match the poses' {poses.num_frames} frames",
                         "preview the frames the poses were extracted from")
    t_count, h, w = out.shape[:3]
    if masks is not None:
        if masks.masks.shape[0] != t_count or masks.masks.shape[2:] != (h, w):
            raise InputError("masks", f"shape {masks.masks.shape} does not match the frames {out.shape[:3]}",
                             "render the masks at the frame size")
        order = back_to_front(poses, min_score)
        aligned = masks.select(poses.track_ids)
        for t in range(t_count):
            for p in order[t]:
                on = aligned.masks[t, p] > 0.5
                tint = np.array(SLOT_RGB[int(slots[p])], dtype=np.float32)
                out[t][on] = (out[t][on] * (1 - mask_opacity) + tint * mask_opacity).astype(np.uint8)
    skeleton = render_skeletons(poses, slots, w, h, SkeletonStyle(palette="ieg", min_score=min_score))
    drawn = skeleton.any(axis=-1)
    out[drawn] = skeleton[drawn]
    if labels:
        scale = (w / poses.width, h / poses.height)
        for t in range(t_count):
            for p, track in enumerate(poses.track_ids):
                anchor = _label_anchor(poses.keypoints[t, p], scale, min_score)
                if anchor is not None:
                    text = f"{track} {SLOT_NAMES[int(slots[p])]}"
                    cv2.putText(out[t], text, anchor, cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 3, cv2.LINE_AA)
                    cv2.putText(out[t], text, anchor, cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                                SLOT_RGB[int(slots[p])], 1, cv2.LINE_AA)
    return out
