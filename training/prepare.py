"""User videos → training clips: tracked whole-body poses, per-identity visible / face / hand masks, swap table.

Identities come from the tracker (or from ids already in a POSE_KEYPOINT file) and masks are drawn from the poses
with overlaps given to the nearer person, so every pixel label in the clip agrees with the tracks — the same
identity map every later stage reads. The source of poses is the caller's: DWPose on the frames, or a JSON file.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.errors import InputError
from ..core.pose.sequence import PoseSequence
from ..core.render.masks import exclusive, masks_from_poses
from .dataset import ClipData

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".gif", ".m4v")


def find_videos(folder: Path) -> list[Path]:
    """Video files and frame folders directly inside ``folder`` (sorted), or ``InputError`` when none."""
    from ..core.video.reader import IMAGE_SUFFIXES

    if not folder.is_dir():
        raise InputError("VIDEO_DIR", f"'{folder}' is not a folder", "give a folder of videos or frame folders")
    found = [p for p in sorted(folder.iterdir()) if p.suffix.lower() in VIDEO_SUFFIXES
             or (p.is_dir() and any(f.suffix.lower() in IMAGE_SUFFIXES for f in p.iterdir()))]
    if not found:
        raise InputError("VIDEO_DIR", f"'{folder}' holds no videos ({', '.join(VIDEO_SUFFIXES)}) or frame folders",
                         "put the clips to train on into that folder")
    return found


def fit_canvas(poses: PoseSequence, width: int, height: int) -> PoseSequence:
    """``poses`` with pixel coordinates on a ``width × height`` canvas (the frames' size)."""
    if (poses.width, poses.height) == (width, height):
        return poses
    kp = poses.keypoints.copy()
    kp[..., 0] *= width / poses.width
    kp[..., 1] *= height / poses.height
    return PoseSequence(kp, poses.track_ids, width, height, poses.fps, poses.depth)


def clip_from_video(frames: np.ndarray, poses: PoseSequence, fps: float, name: str = "video") -> ClipData:
    """A training clip from frames ``(T,H,W,3)`` (float 0..1 or uint8) and their tracked poses."""
    t, h, w = frames.shape[:3]
    if poses.num_frames != t:
        raise InputError(name, f"has {t} frames but its poses have {poses.num_frames}",
                         "use poses extracted from this video (same frame selection)")
    if poses.num_people == 0:
        raise InputError(name, "no person was found", "check the video shows people (or the pose file)")
    poses = fit_canvas(poses, w, h)
    visible = exclusive(masks_from_poses(poses, w, h, "body"), poses).masks.astype(bool)
    face = masks_from_poses(poses, w, h, "face").masks.astype(bool) & visible
    hands = masks_from_poses(poses, w, h, "hands").masks.astype(bool) & visible
    pixels = frames if frames.dtype == np.uint8 else np.clip(np.rint(frames * 255), 0, 255).astype(np.uint8)
    return ClipData(frames=pixels, masks=visible, face_masks=face, hand_masks=hands, poses=poses, fps=fps)
