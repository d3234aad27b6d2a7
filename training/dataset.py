"""Training clips on disk, in the layout of ``docs/dataset_format.md``, read lazily; and prepared-clip writing.

Two producers share one layout (``DATASET/<clip>/``: ``scene.json``, ``frames/000000.png``, ``poses.npz``,
``masks.npz``, optional ``reference.png``), so training reads both the same way:

* the synthetic world (``core.synth.dataset.write_dataset``; ``scene.json`` format ``choreograph-synth-scene``),
  which adds ground truth training does not need (looks, amodal masks, boxes) and a separate reference image;
* ``python -m choreograph prepare`` on a user's videos (format ``choreograph-clip``): the subset below.

=================  ==================================================================================
``scene.json``     ``{"format": "choreograph-clip", "version": 1, "frames": T, "width": W, "height": H,
                   "fps": fps}``
``poses.npz``      ``keypoints`` ``(T, P, 133, 3)`` float32 pixels + confidence, ``track_ids`` ``(P,)``
``masks.npz``      ``visible``, ``face``, ``hands``: ``(T, P, H, W)`` bool, ``np.packbits`` along the width
=================  ==================================================================================

Column p of every array is identity ``track_ids[p]``. Frames are decoded only when a sample needs them. The
pre-classified swap pairs (SPEC §1.5: frame pairs whose left-to-right order of shared identities differs) are
computed from the visible masks when a clip is opened.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ..core.errors import InputError
from ..core.pose.sequence import PoseSequence
from ..core.video.output_files import atomic_directory

CLIP_FORMAT = "choreograph-clip"
FORMATS = (CLIP_FORMAT, "choreograph-synth-scene")
VERSION = 1
MASK_KEYS = ("visible", "face", "hands")


@dataclass(frozen=True)
class ClipMeta:
    """What a clip says about itself, checked on open."""

    path: Path
    fps: float
    width: int
    height: int
    frames: int
    ids: tuple[int, ...]
    swap_pairs: np.ndarray  # (N, 2) int: reference frame, target frame


@dataclass(frozen=True)
class ClipWindow:
    """Frames ``(T,H,W,3)`` uint8; visible, face and hand masks ``(T,P,H,W)`` bool; the poses of those frames."""

    frames: np.ndarray
    masks: np.ndarray
    face_masks: np.ndarray
    hand_masks: np.ndarray
    poses: PoseSequence


def resize_window(window: ClipWindow, width: int, height: int) -> ClipWindow:
    """The window at a training size (area for pixels, nearest for masks, scaled keypoints)."""
    h, w = window.frames.shape[1:3]
    if (h, w) == (height, width):
        return window

    def masks(m: np.ndarray) -> np.ndarray:
        flat = m.reshape(-1, h, w).astype(np.uint8)
        out = np.stack([cv2.resize(x, (width, height), interpolation=cv2.INTER_NEAREST) for x in flat])
        return out.reshape(*m.shape[:-2], height, width).astype(bool)

    frames = np.stack([cv2.resize(f, (width, height), interpolation=cv2.INTER_AREA) for f in window.frames])
    p = window.poses
    kp = p.keypoints.copy()
    kp[..., 0] *= width / w
    kp[..., 1] *= height / h
    poses = PoseSequence(kp, p.track_ids, width, height, p.fps, p.depth)
    return ClipWindow(frames, masks(window.masks), masks(window.face_masks), masks(window.hand_masks), poses)


def _png(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _unpack(packed: np.ndarray, width: int) -> np.ndarray:
    return np.unpackbits(packed, axis=-1, count=width).astype(bool)


def _fail(path: Path, problem: str) -> InputError:
    return InputError("dataset", f"clip '{path.name}' {problem}", "re-create the clip (prepare / synth); it is "
                      "incomplete or was edited")


def _read_json(path: Path) -> dict:
    file = path / "scene.json"
    if not file.is_file():
        raise InputError("dataset", f"'{path}' has no scene.json", "point data.root at a folder of clips made by "
                         "python -m choreograph prepare or synth")
    meta = json.loads(file.read_text())
    if meta.get("format") not in FORMATS or meta.get("version") != VERSION:
        raise InputError("dataset", f"'{file}' is not a version-{VERSION} clip ({', '.join(FORMATS)})",
                         "re-create the clip with this version of Choreograph")
    return meta


class Clip:
    """One clip: metadata, poses and packed masks up front (small), pixels on demand."""

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        meta = _read_json(path)
        frames, width, height = int(meta["frames"]), int(meta["width"]), int(meta["height"])
        fps = float(meta.get("fps") or meta.get("config", {}).get("fps") or 24.0)
        try:
            with np.load(path / "poses.npz", allow_pickle=False) as poses, \
                    np.load(path / "masks.npz", allow_pickle=False) as masks:
                self._keypoints = poses["keypoints"].astype(np.float32)
                ids = tuple(int(i) for i in poses["track_ids"])
                self._depth = poses.get("depth")
                self._reference_keypoints = poses.get("reference_keypoints")
                self._packed = {key: masks[key] for key in MASK_KEYS}
                self._reference_mask = masks.get("reference")
        except (OSError, KeyError, ValueError) as err:
            raise _fail(path, f"has unreadable poses.npz / masks.npz ({type(err).__name__}: {err})") from err
        self._check(path, frames, width, height, ids)
        visible = self._packed["visible"]
        cx = np.concatenate([centroids_x(_unpack(visible[t:t + 1], width)) for t in range(frames)])
        self.meta = ClipMeta(path, fps, width, height, frames, ids, swaps_from_centroids(cx))

    def _check(self, path: Path, frames: int, width: int, height: int, ids: tuple[int, ...]) -> None:
        """Tracks, masks and frame files must agree on frames, identities and size."""
        if frames < 1 or not ids:
            raise _fail(path, f"has {frames} frames and {len(ids)} identities; training needs people in frames")
        want = (frames, len(ids), 133, 3)
        if self._keypoints.shape != want:
            raise _fail(path, f"has keypoints {self._keypoints.shape}, expected {want}: its tracks are "
                        "inconsistent with its frames / identities")
        packed = (frames, len(ids), height, (width + 7) // 8)
        for key, value in self._packed.items():
            if value.shape != packed:
                raise _fail(path, f"has '{key}' masks of packed shape {value.shape}, expected {packed}")
        count = len(list((path / "frames").glob("*.png"))) if (path / "frames").is_dir() else 0
        if count != frames:
            raise _fail(path, f"has {count} frame files but scene.json says {frames}")

    def poses(self, frames: list[int] | np.ndarray | range) -> PoseSequence:
        index = np.asarray(frames)
        m = self.meta
        depth = None if self._depth is None else self._depth[index]
        return PoseSequence(self._keypoints[index], m.ids, m.width, m.height, m.fps, depth)

    def window(self, frames: list[int] | np.ndarray | range) -> ClipWindow:
        """Pixels, masks and poses of the listed frames."""
        index = np.asarray(frames)
        rgb = np.stack([_png(self.meta.path / "frames" / f"{int(t):06d}.png") for t in index])
        masks = {key: _unpack(value[index], self.meta.width) for key, value in self._packed.items()}
        return ClipWindow(rgb, masks["visible"], masks["face"], masks["hands"], self.poses(index))

    def reference(self) -> ClipWindow | None:
        """The separate reference image (synthetic clips), or None."""
        if self._reference_mask is None or self._reference_keypoints is None:
            return None
        m = self.meta
        masks = _unpack(self._reference_mask, m.width)[None]
        poses = PoseSequence(self._reference_keypoints, m.ids, m.width, m.height, m.fps)
        empty = np.zeros_like(masks)
        return ClipWindow(_png(m.path / "reference.png")[None], masks, empty, empty, poses)


def list_clips(root: str | Path) -> list[Path]:
    """Clip folders under ``root`` (sorted), or ``InputError`` when there are none."""
    root = Path(root)
    if not root.is_dir():
        raise InputError("dataset", f"'{root}' is not a folder", "set data.root to a folder of clips")
    clips = sorted(p.parent for p in root.glob("*/scene.json"))
    if not clips:
        raise InputError("dataset", f"'{root}' holds no clips (no */scene.json)",
                         "prepare clips with python -m choreograph prepare, or generate them with synth")
    return clips


def centroids_x(masks: np.ndarray) -> np.ndarray:
    """``(T, P)`` horizontal centroid of each ``(T, P, H, W)`` mask, NaN where the mask is empty."""
    area = masks.sum(axis=(2, 3))
    xs = np.arange(masks.shape[3])
    return np.where(area > 0, (masks.sum(axis=2) * xs).sum(-1) / np.maximum(area, 1), np.nan)


def swap_pairs(masks: np.ndarray) -> np.ndarray:
    """(a, b) frame pairs whose left-to-right order of the identities present in both differs (SPEC §1.5).

    ``masks`` ``(T, P, H, W)``; order is by the horizontal centroid of each visible mask.
    """
    return swaps_from_centroids(centroids_x(masks))


def swaps_from_centroids(cx: np.ndarray) -> np.ndarray:
    """``swap_pairs`` from ``(T, P)`` centroids (NaN = absent)."""
    left_of = cx[:, :, None] < cx[:, None, :]  # (T, P, P)
    seen = ~np.isnan(cx)
    both = seen[:, :, None] & seen[:, None, :]
    pairs = []
    for a in range(len(cx)):
        differs = (left_of[a][None] != left_of) & both[a][None] & both
        pairs.extend((a, int(b)) for b in np.nonzero(differs.any(axis=(1, 2)))[0])
    return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)


@dataclass(frozen=True)
class ClipData:
    """A whole prepared clip in memory, for writing: frames ``(T,H,W,3)`` uint8; visible / face / hand masks
    ``(T,P,H,W)`` bool with columns in ``poses.track_ids`` order."""

    frames: np.ndarray
    masks: np.ndarray
    face_masks: np.ndarray
    hand_masks: np.ndarray
    poses: PoseSequence
    fps: float


def write_clip(clip: ClipData, path: str | Path) -> Path:
    """Write ``clip`` in the prepared-clip layout; the folder appears complete or not at all."""
    path = Path(path)
    if path.exists():
        raise InputError("output", f"'{path}' already exists", "choose a new folder or delete the old clip")
    t, h, w = clip.frames.shape[:3]
    with atomic_directory(path) as temp:
        (temp / "frames").mkdir()
        for index, frame in enumerate(clip.frames):
            Image.fromarray(np.ascontiguousarray(frame)).save(temp / "frames" / f"{index:06d}.png", compress_level=1)
        np.savez_compressed(temp / "poses.npz", keypoints=clip.poses.keypoints.astype(np.float32),
                            track_ids=np.asarray(clip.poses.track_ids, dtype=np.int64))
        np.savez_compressed(temp / "masks.npz", **{key: np.packbits(m, axis=-1) for key, m in zip(
            MASK_KEYS, (clip.masks, clip.face_masks, clip.hand_masks))})
        meta = {"format": CLIP_FORMAT, "version": VERSION, "frames": t, "width": w, "height": h, "fps": clip.fps}
        (temp / "scene.json").write_text(json.dumps(meta, indent=1))
    return path
