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

A **reverse-driving triplet** (SCAIL-2 §3.2) is such a clip plus a driving video of other characters performing
its motion: ``driving/000000.png`` …, ``driving_keypoints`` ``(T, P, 133, 3)`` in ``poses.npz``, ``driving_visible``
masks in ``masks.npz`` (column p drives identity p) and ``"driving": {"mode": "animation" | "replacement",
"source": …}`` in ``scene.json``. The synthetic world writes exact triplets (``core.synth.pairs``);
``python -m choreograph pairs`` adds generated driving videos to prepared clips. ``reference.png`` with
``reference`` masks / ``reference_keypoints`` is an optional separate reference image.

Column p of every array is identity ``track_ids[p]``. Frames are decoded only when a sample needs them. The
pre-classified swap pairs (SPEC §1.5: frame pairs whose left-to-right order of shared identities differs) are
computed from the visible masks when a clip is opened.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ..core.errors import InputError
from ..core.pose.sequence import PoseSequence
from ..core.video.output_files import atomic_directory, atomic_file

CLIP_FORMAT = "choreograph-clip"
DRIVING = "driving"
DRIVING_MODES = ("animation", "replacement")
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
    driving_mode: str | None = None  # reverse-driving triplets: "animation" or "replacement"


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
                self._driving_keypoints = poses.get("driving_keypoints")
                self._driving_packed = masks.get("driving_visible")
        except (OSError, KeyError, ValueError) as err:
            raise _fail(path, f"has unreadable poses.npz / masks.npz ({type(err).__name__}: {err})") from err
        self._check(path, frames, width, height, ids)
        driving_mode = (meta.get("driving") or {}).get("mode")
        if driving_mode is not None:
            self._check_driving(path, frames, width, height, ids, driving_mode)
        visible = self._packed["visible"]
        cx = np.concatenate([centroids_x(_unpack(visible[t:t + 1], width)) for t in range(frames)])
        self.meta = ClipMeta(path, fps, width, height, frames, ids, swaps_from_centroids(cx), driving_mode)

    def _check_driving(self, path: Path, frames: int, width: int, height: int, ids: tuple[int, ...],
                       mode: str) -> None:
        """A triplet's driving video must match its target in frames, people and size."""
        if mode not in DRIVING_MODES:
            raise _fail(path, f"has driving mode '{mode}', not one of {DRIVING_MODES}")
        if self._driving_keypoints is None or self._driving_packed is None:
            raise _fail(path, "says it has a driving video but lacks driving_keypoints / driving_visible")
        if self._driving_keypoints.shape != (frames, len(ids), 133, 3) or \
                self._driving_packed.shape != (frames, len(ids), height, (width + 7) // 8):
            raise _fail(path, "has a driving video whose poses / masks do not match its frames and identities")
        count = len(list((path / DRIVING).glob("*.png"))) if (path / DRIVING).is_dir() else 0
        if count != frames:
            raise _fail(path, f"has {count} driving frame files but scene.json says {frames}")

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

    def driving_window(self, frames: list[int] | np.ndarray | range) -> ClipWindow:
        """The reverse-driving video's pixels, visible masks and poses of the listed frames (triplets only)."""
        if self.meta.driving_mode is None:
            raise ValueError(f"clip {self.meta.path.name} has no driving video")
        index = np.asarray(frames)
        m = self.meta
        rgb = np.stack([_png(m.path / DRIVING / f"{int(t):06d}.png") for t in index])
        masks = _unpack(self._driving_packed[index], m.width)
        empty = np.zeros_like(masks)
        poses = PoseSequence(self._driving_keypoints[index].astype(np.float32), m.ids, m.width, m.height, m.fps)
        return ClipWindow(rgb, masks, empty, empty, poses)

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
    driving: DrivingVideo | None = None
    reference: ClipWindow | None = None  # a separate reference image (one frame), written as reference.png


@dataclass(frozen=True)
class DrivingVideo:
    """A reverse-driving video for a clip: frames ``(T,H,W,3)`` uint8 of other characters doing the clip's motion,
    their visible masks ``(T,P,H,W)`` and poses (column p drives identity p); ``mode`` animation / replacement
    (where the environment comes from); ``source`` says what made it (synthetic, a workflow, …)."""

    frames: np.ndarray
    masks: np.ndarray
    poses: PoseSequence
    mode: str
    source: str


def _write_frames(folder: Path, frames: np.ndarray) -> None:
    folder.mkdir()
    for index, frame in enumerate(frames):
        Image.fromarray(np.ascontiguousarray(frame)).save(folder / f"{index:06d}.png", compress_level=1)


def write_clip(clip: ClipData, path: str | Path) -> Path:
    """Write ``clip`` in the prepared-clip layout; the folder appears complete or not at all."""
    path = Path(path)
    if path.exists():
        raise InputError("output", f"'{path}' already exists", "choose a new folder or delete the old clip")
    t, h, w = clip.frames.shape[:3]
    poses, masks = {}, {}
    meta = {"format": CLIP_FORMAT, "version": VERSION, "frames": t, "width": w, "height": h, "fps": clip.fps}
    with atomic_directory(path) as temp:
        _write_frames(temp / "frames", clip.frames)
        if clip.driving is not None:
            d = clip.driving
            if d.mode not in DRIVING_MODES or d.frames.shape != clip.frames.shape or d.masks.shape != clip.masks.shape:
                raise ValueError(f"driving video of {path.name} does not match the clip (mode {d.mode!r}, frames "
                                 f"{d.frames.shape} vs {clip.frames.shape}, masks {d.masks.shape})")
            _write_frames(temp / DRIVING, d.frames)
            poses["driving_keypoints"] = d.poses.keypoints.astype(np.float32)
            masks["driving_visible"] = np.packbits(d.masks, axis=-1)
            meta["driving"] = {"mode": d.mode, "source": d.source}
        if clip.reference is not None:
            Image.fromarray(np.ascontiguousarray(clip.reference.frames[0])).save(temp / "reference.png")
            poses["reference_keypoints"] = clip.reference.poses.keypoints.astype(np.float32)
            masks["reference"] = np.packbits(clip.reference.masks[0], axis=-1)
        np.savez_compressed(temp / "poses.npz", keypoints=clip.poses.keypoints.astype(np.float32),
                            track_ids=np.asarray(clip.poses.track_ids, dtype=np.int64), **poses)
        np.savez_compressed(temp / "masks.npz", **{key: np.packbits(m, axis=-1) for key, m in zip(
            MASK_KEYS, (clip.masks, clip.face_masks, clip.hand_masks))}, **masks)
        (temp / "scene.json").write_text(json.dumps(meta, indent=1))
    return path


def _rewrite_npz(path: Path, extra: dict[str, np.ndarray]) -> None:
    """``path`` with ``extra`` arrays added (or replaced), swapped in atomically."""
    with np.load(path, allow_pickle=False) as old:
        arrays = {key: old[key] for key in old.files}
    arrays.update(extra)
    with atomic_file(path, overwrite=True) as temp, open(temp, "wb") as handle:
        np.savez_compressed(handle, **arrays)


def add_driving(path: str | Path, driving: DrivingVideo) -> Path:
    """Turn the clip at ``path`` into a reverse-driving triplet by adding ``driving``. The driving frames appear
    atomically; ``scene.json`` names the driving video last, so an interrupted call leaves a plain clip."""
    path = Path(path)
    clip = Clip(path)
    m = clip.meta
    want = (m.frames, m.height, m.width, 3)
    if driving.mode not in DRIVING_MODES or driving.frames.shape != want or \
            driving.masks.shape != (m.frames, len(m.ids), m.height, m.width):
        raise InputError("driving", f"a {driving.frames.shape} driving video (mode {driving.mode!r}) does not fit "
                         f"clip '{path.name}' {want}", "generate one frame per clip frame at the clip's size")
    if m.driving_mode is not None:
        raise InputError("output", f"clip '{path.name}' already has a driving video", "delete its driving/ first")
    if (path / DRIVING).exists():  # left by an interrupted call: scene.json never named it
        shutil.rmtree(path / DRIVING)
    with atomic_directory(path / DRIVING) as temp:
        for index, frame in enumerate(driving.frames):
            Image.fromarray(np.ascontiguousarray(frame)).save(temp / f"{index:06d}.png", compress_level=1)
    _rewrite_npz(path / "poses.npz", {"driving_keypoints": driving.poses.keypoints.astype(np.float32)})
    _rewrite_npz(path / "masks.npz", {"driving_visible": np.packbits(driving.masks, axis=-1)})
    meta = json.loads((path / "scene.json").read_text())
    meta["driving"] = {"mode": driving.mode, "source": driving.source}
    with atomic_file(path / "scene.json", overwrite=True) as temp:
        temp.write_text(json.dumps(meta, indent=1))
    return path
