"""The on-disk training clip format, read lazily, and written from synthetic scenes or prepared user videos.

::

    DATASET/clip_name/
      meta.json          {"format": "choreograph-clip", "version": 1, "fps", "width", "height", "frames",
                          "ids": [track ids], "swap_pairs": [[a, b], ...], "has_reference": bool}
      frames/000000.png  RGB frames
      instances/000000.png  uint8 identity map: 0 = background, k = ids[k-1] (visible pixels only)
      parts/000000.png   uint8: 0 = none, 1 = face, 2 = hand (of whichever identity owns the pixel)
      poses.safetensors  keypoints (T, P, 133, 3) pixels + score, columns in ``ids`` order;
                         reference_keypoints (1, P, 133, 3) when has_reference
      reference/frame.png, reference/instances.png   optional separate reference image (synthetic world)

SPEC §1.8 is the model; keypoints moved into one safetensors file (no per-frame JSON) and face/hand masks were
added for DanceTogether's loss weights and the hand region of DPO. ``swap_pairs`` are (reference frame, target
frame) pairs whose left-to-right order of shared identities differs (§1.5). Frames are read only when a sample
needs them, so a dataset may be far larger than memory.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from safetensors.numpy import load_file, save_file

from ..core.errors import InputError
from ..core.pose.sequence import PoseSequence

FORMAT = "choreograph-clip"
VERSION = 1
FACE, HAND = 1, 2


@dataclass(frozen=True)
class ClipMeta:
    """What ``meta.json`` says about one clip."""

    path: Path
    fps: float
    width: int
    height: int
    frames: int
    ids: tuple[int, ...]
    swap_pairs: np.ndarray  # (N, 2) int: reference frame, target frame
    has_reference: bool


@dataclass(frozen=True)
class ClipWindow:
    """Frames ``(T,H,W,3)`` uint8, identity-index masks ``(T,P,H,W)`` bool (column order = ``ids``), face and hand
    masks of the same shape, and the poses of those frames."""

    frames: np.ndarray
    masks: np.ndarray
    face_masks: np.ndarray
    hand_masks: np.ndarray
    poses: PoseSequence


def _png(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image)


def _write_png(path: Path, array: np.ndarray) -> None:
    Image.fromarray(np.ascontiguousarray(array)).save(path, compress_level=1)


def _masks_from_maps(instances: np.ndarray, parts: np.ndarray, count: int) -> tuple[np.ndarray, ...]:
    people = instances[:, None] == np.arange(1, count + 1)[None, :, None, None]
    return people, people & (parts == FACE)[:, None], people & (parts == HAND)[:, None]


class Clip:
    """One clip on disk: metadata and poses up front, pixels on demand."""

    def __init__(self, path: str | Path) -> None:
        self.meta = read_meta(Path(path))
        arrays = load_file(str(self.meta.path / "poses.safetensors"))
        self._keypoints = arrays["keypoints"]
        self._reference_keypoints = arrays.get("reference_keypoints")
        self._depth = arrays.get("depth")
        check_poses(self.meta, self._keypoints, self._reference_keypoints)

    def poses(self, frames: list[int] | np.ndarray) -> PoseSequence:
        m = self.meta
        index = np.asarray(frames)
        depth = None if self._depth is None else self._depth[index]
        return PoseSequence(self._keypoints[index], m.ids, m.width, m.height, m.fps, depth)

    def window(self, frames: list[int] | np.ndarray) -> ClipWindow:
        """Pixels, masks and poses of the listed frames."""
        names = [f"{int(t):06d}.png" for t in frames]
        root = self.meta.path
        rgb = np.stack([_png(root / "frames" / n)[..., :3] for n in names])
        instances = np.stack([_png(root / "instances" / n) for n in names])
        parts = np.stack([_png(root / "parts" / n) for n in names])
        people, face, hand = _masks_from_maps(instances, parts, len(self.meta.ids))
        return ClipWindow(rgb, people, face, hand, self.poses(frames))

    def reference(self) -> ClipWindow | None:
        """The separate reference image, when the clip has one."""
        if not self.meta.has_reference:
            return None
        root = self.meta.path / "reference"
        instances = _png(root / "instances.png")[None]
        people, face, hand = _masks_from_maps(instances, np.zeros_like(instances), len(self.meta.ids))
        poses = PoseSequence(self._reference_keypoints, self.meta.ids, self.meta.width, self.meta.height,
                             self.meta.fps)
        return ClipWindow(_png(root / "frame.png")[None, ..., :3], people, face, hand, poses)


def read_meta(path: Path) -> ClipMeta:
    """Parse and check ``meta.json`` and the frame folders of one clip (``InputError`` names what is wrong)."""
    meta_file = path / "meta.json"
    if not meta_file.is_file():
        raise InputError("dataset", f"'{path}' has no meta.json", "point the config at a folder of prepared clips "
                         "(python -m choreograph prepare VIDEO_DIR OUT_DIR)")
    meta = json.loads(meta_file.read_text())
    if meta.get("format") != FORMAT:
        raise InputError("dataset", f"'{meta_file}' is not a {FORMAT} file", "re-create the clip with prepare")
    frames = int(meta["frames"])
    for folder in ("frames", "instances", "parts"):
        count = len(list((path / folder).glob("*.png"))) if (path / folder).is_dir() else 0
        if count != frames:
            raise InputError("dataset", f"clip '{path.name}' has {count} {folder} files but meta.json says {frames}",
                             "re-create the clip; it was written partially")
    pairs = np.asarray(meta.get("swap_pairs", []), dtype=np.int64).reshape(-1, 2)
    if len(pairs) and (pairs.min() < 0 or pairs.max() >= frames):
        raise InputError("dataset", f"clip '{path.name}' has swap pairs outside 0..{frames - 1}",
                         "recompute the swap table")
    return ClipMeta(path, float(meta["fps"]), int(meta["width"]), int(meta["height"]), frames,
                    tuple(int(i) for i in meta["ids"]), pairs, bool(meta.get("has_reference", False)))


def check_poses(meta: ClipMeta, keypoints: np.ndarray, reference: np.ndarray | None) -> None:
    """The tracks must cover every frame and identity of the clip."""
    want = (meta.frames, len(meta.ids), 133, 3)
    if keypoints.shape != want:
        raise InputError("dataset", f"clip '{meta.path.name}' has keypoints {keypoints.shape}, expected {want} "
                         "(frames, ids, 133, 3)", "the tracks are inconsistent with meta.json; re-create the clip")
    if meta.has_reference and (reference is None or reference.shape != (1, *want[1:])):
        raise InputError("dataset", f"clip '{meta.path.name}' says it has a reference image but its reference "
                         "keypoints are missing or mis-shaped", "re-create the clip")


def list_clips(root: str | Path) -> list[Path]:
    """Clip folders under ``root`` (sorted), or ``InputError`` when there are none."""
    root = Path(root)
    if not root.is_dir():
        raise InputError("dataset", f"'{root}' is not a folder", "set data.root to a folder of prepared clips")
    clips = sorted(p.parent for p in root.glob("*/meta.json"))
    if not clips:
        raise InputError("dataset", f"'{root}' holds no clips (no */meta.json)",
                         "prepare clips with python -m choreograph prepare, or write synthetic ones")
    return clips


def swap_pairs(masks: np.ndarray) -> np.ndarray:
    """(a, b) pairs whose left-to-right order of identities present in both frames differs (SPEC §1.5).

    ``masks`` ``(T, P, H, W)``; order is by the horizontal centroid of each visible mask.
    """
    area = masks.sum(axis=(2, 3))
    xs = np.arange(masks.shape[3])
    cx = np.where(area > 0, (masks.sum(axis=2) * xs).sum(-1) / np.maximum(area, 1), np.nan)
    left_of = cx[:, :, None] < cx[:, None, :]  # (T, P, P)
    both = ~np.isnan(cx)
    pairs = []
    for a in range(len(cx)):
        shared = both[a][None, :, None] & both[a][None, None, :] & both[:, :, None] & both[:, None, :]
        differs = (left_of[a][None] != left_of) & shared
        pairs.extend((a, int(b)) for b in np.nonzero(differs.any(axis=(1, 2)))[0])
    return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)


@dataclass(frozen=True)
class ClipData:
    """A whole clip in memory, for writing: frames ``(T,H,W,3)`` uint8, masks / face / hand ``(T,P,H,W)`` bool
    (column order = ``poses.track_ids``), optional separate reference (a 1-frame ``ClipWindow``)."""

    frames: np.ndarray
    masks: np.ndarray
    face_masks: np.ndarray
    hand_masks: np.ndarray
    poses: PoseSequence
    fps: float
    reference: ClipWindow | None = None


def _index_map(masks: np.ndarray) -> np.ndarray:
    """``(..., P, H, W)`` bool → uint8 map, 0 background, k = column k−1 (later columns win overlaps)."""
    out = np.zeros(masks.shape[:-3] + masks.shape[-2:], np.uint8)
    for k in range(masks.shape[-3]):
        out[masks[..., k, :, :]] = k + 1
    return out


def write_clip(clip: ClipData, path: str | Path) -> Path:
    """Write ``clip`` to ``path`` atomically (a temporary folder renamed into place); returns ``path``."""
    path = Path(path)
    if path.exists():
        raise InputError("output", f"'{path}' already exists", "choose a new folder or delete the old clip")
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    instances = _index_map(clip.masks)
    parts = np.where(clip.hand_masks.any(1), HAND, np.where(clip.face_masks.any(1), FACE, 0)).astype(np.uint8)
    for folder, images in (("frames", clip.frames), ("instances", instances), ("parts", parts)):
        (temp / folder).mkdir()
        for t, image in enumerate(images):
            _write_png(temp / folder / f"{t:06d}.png", image)
    arrays = {"keypoints": np.ascontiguousarray(clip.poses.keypoints, dtype=np.float32)}
    if clip.poses.depth is not None:
        arrays["depth"] = np.ascontiguousarray(clip.poses.depth, dtype=np.float32)
    if clip.reference is not None:
        (temp / "reference").mkdir()
        _write_png(temp / "reference" / "frame.png", clip.reference.frames[0])
        _write_png(temp / "reference" / "instances.png", _index_map(clip.reference.masks)[0])
        arrays["reference_keypoints"] = np.ascontiguousarray(clip.reference.poses.keypoints, dtype=np.float32)
    save_file(arrays, str(temp / "poses.safetensors"))
    t, h, w = clip.frames.shape[:3]
    meta = {"format": FORMAT, "version": VERSION, "fps": clip.fps, "width": w, "height": h, "frames": t,
            "ids": [int(i) for i in clip.poses.track_ids], "swap_pairs": swap_pairs(clip.masks).tolist(),
            "has_reference": clip.reference is not None}
    (temp / "meta.json").write_text(json.dumps(meta))
    os.replace(temp, path)
    return path
