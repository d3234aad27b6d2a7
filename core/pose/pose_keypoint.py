"""``POSE_KEYPOINT`` (comfyui_controlnet_aux's pose list) and OpenPose JSON, read and written faithfully.

The format (SPEC §7, anchors §5): a list with one dict per frame, ``{"people": [...], "canvas_height": H,
"canvas_width": W}``; each person has flat ``[x, y, c, ...]`` lists ``pose_keypoints_2d`` (18 points),
``face_keypoints_2d`` (70), ``hand_left_keypoints_2d`` / ``hand_right_keypoints_2d`` (21), pixel coordinates.
controlnet_aux writes a point it keeps (score ≥ 0.3) as ``[x, y, 1.0]`` and every other point as ``0, 0, 0``, an
empty face or hand as ``null``, and its own readers drop any point whose ``c < 1``; so that is what we write by
default (``keep_scores=True`` writes the real scores for our own consumers). We add ``"track_id"`` per person,
which other packs ignore.

Reading accepts what is found in the wild: flat or nested ``[[x, y, c], ...]`` lists (controlnet_aux's docstring
shows nested), normalised 0..1 coordinates, OpenPose's own BODY_25 files (feet included) and ``person_id``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..video.output_files import atomic_file
from .detections import UNKNOWN_ID, PoseFrames
from .openpose import HAND_POINTS, OPENPOSE_BODY, VISIBLE_SCORE, openpose_to_wholebody, wholebody_to_openpose
from .sequence import PoseSequence
from .wholebody import FEET, NUM_KEYPOINTS

BODY_25 = 25
# BODY_25 index of each OpenPose-18 slot (BODY_25 adds the mid-hip at 8 and six foot points at 19–24).
BODY25_TO_OPENPOSE18 = np.array([0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18])
BODY25_FEET = slice(19, 25)  # same order as COCO-WholeBody's feet: left big/small toe, heel, then right
PART_KEYS = ("face_keypoints_2d", "hand_left_keypoints_2d", "hand_right_keypoints_2d")
MAX_CANVAS = 16384  # pixels per side; larger "canvases" are typos or hostile, and would exhaust memory downstream
MAX_COORDINATE = 1e6  # pixels; far beyond any canvas, and still exactly representable in float32 JSON


def _points(value: Any, what: str, frame: int) -> np.ndarray:
    """A flat or nested ``[x, y, c]`` list as ``(N, 3)`` float32; None or empty gives ``(0, 3)``."""
    if value is None:
        return np.zeros((0, 3), dtype=np.float32)
    try:
        arr = np.asarray(value, dtype=np.float32).reshape(-1)
    except (TypeError, ValueError):
        raise InputError("pose_keypoint", f"frame {frame}: {what} is not a list of numbers",
                         "give [x, y, c, ...] values (controlnet_aux POSE_KEYPOINT format)") from None
    if arr.size % 3:
        raise InputError("pose_keypoint", f"frame {frame}: {what} has {arr.size} values, not a multiple of 3",
                         "give x, y, confidence for every point")
    if not np.isfinite(arr).all() or np.abs(arr).max(initial=0.0) > MAX_COORDINATE:
        raise InputError("pose_keypoint", f"frame {frame}: {what} holds NaN, Infinity or values beyond "
                         f"±{MAX_COORDINATE:g}", "give finite pixel (or 0-1 normalised) coordinates")
    return arr.reshape(-1, 3)


def _person_to_wholebody(person: dict, frame: int, canvas: tuple[int, int]) -> np.ndarray:
    if not isinstance(person, dict):
        raise InputError("pose_keypoint", f"frame {frame}: a person is a {type(person).__name__}, not a dict",
                         "give each person as {\"pose_keypoints_2d\": [...], ...}")
    body = _points(person.get("pose_keypoints_2d"), "pose_keypoints_2d", frame)
    face, left, right = (_points(person.get(k), k, frame) for k in PART_KEYS)
    if len(body) == 0:
        body = np.zeros((OPENPOSE_BODY, 3), dtype=np.float32)
    if len(body) not in (OPENPOSE_BODY, BODY_25):
        raise InputError("pose_keypoint", f"frame {frame}: pose_keypoints_2d has {len(body)} points",
                         "give OpenPose-18 (COCO) or BODY_25 body points")
    for name, part, sizes in (("face", face, (0, 68, 70)), ("hand", left, (0, HAND_POINTS)),
                              ("hand", right, (0, HAND_POINTS))):
        if len(part) not in sizes:
            raise InputError("pose_keypoint", f"frame {frame}: a {name} has {len(part)} points",
                             f"give {' or '.join(str(s) for s in sizes[1:])} {name} points, or none")
    kp = openpose_to_wholebody(body[BODY25_TO_OPENPOSE18] if len(body) == BODY_25 else body, face, left, right)
    if len(body) == BODY_25:
        kp[FEET] = body[BODY25_FEET]
    return _denormalise(kp, canvas)


def _denormalise(kp: np.ndarray, canvas: tuple[int, int]) -> np.ndarray:
    """controlnet_aux's rule: a person whose visible coordinates all lie in [0, 1] is in normalised units."""
    seen = kp[:, 2] > 0
    if seen.any() and np.all(np.abs(kp[seen, :2]) <= 1.0):
        kp = kp.copy()
        kp[:, 0] *= canvas[0]
        kp[:, 1] *= canvas[1]
    return kp


def _rescale(kp: np.ndarray, size: tuple[int, int], target: tuple[int, int]) -> np.ndarray:
    """Frames drawn on another canvas than the first are brought onto the first one's pixels."""
    if size == target:
        return kp
    kp = kp.copy()
    kp[:, 0] *= target[0] / size[0]
    kp[:, 1] *= target[1] / size[1]
    return kp


def _track_id(person: dict) -> int:
    value = person.get("track_id", person.get("person_id"))
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else None
    try:
        return int(value) if value is not None and int(value) >= 0 else UNKNOWN_ID
    except (TypeError, ValueError):
        return UNKNOWN_ID


def _canvas(frame: dict, t: int, fallback: tuple[int, int] | None) -> tuple[int, int]:
    width, height = frame.get("canvas_width"), frame.get("canvas_height")
    if width is None or height is None:
        if fallback is None:
            raise InputError("pose_keypoint", f"frame {t} has no canvas_width/canvas_height",
                             "give the canvas size (width and height of the frames the poses belong to)")
        return fallback
    try:
        size = int(width), int(height)
    except (TypeError, ValueError, OverflowError):
        raise InputError("pose_keypoint", f"frame {t}: canvas size {width}x{height} is not a number",
                         "give integer canvas_width and canvas_height") from None
    if not all(1 <= side <= MAX_CANVAS for side in size):
        raise InputError("pose_keypoint", f"frame {t}: canvas size {width}x{height} is outside 1-{MAX_CANVAS} "
                         "pixels", "give the width and height of the video frames the poses belong to")
    return size


def read_pose_keypoint(data: Any, canvas: tuple[int, int] | None = None, fps: float = 24.0) -> PoseFrames:
    """``POSE_KEYPOINT`` (a list of frame dicts, or one frame dict) as `PoseFrames`; ``canvas = (w, h)`` is used
    where a frame has no canvas size (plain OpenPose files never do)."""
    frames = [data] if isinstance(data, dict) else data
    if not isinstance(frames, (list, tuple)) or not frames:
        raise InputError("pose_keypoint", "expected a non-empty list of frames",
                         "give a POSE_KEYPOINT list ([{\"people\": [...], \"canvas_width\": W, ...}, ...])")
    people, ids, first_canvas = [], [], None
    for t, frame in enumerate(frames):
        if not isinstance(frame, dict) or not isinstance(frame.get("people"), list):
            raise InputError("pose_keypoint", f"frame {t} is not a dict with a \"people\" list",
                             "give controlnet_aux/OpenPose pose frames (animal poses are not supported)")
        size = _canvas(frame, t, canvas or first_canvas)
        first_canvas = first_canvas or size
        persons = frame.get("people", [])
        stacked = [_rescale(_person_to_wholebody(p, t, size), size, first_canvas) for p in persons]
        people.append(np.stack(stacked) if stacked else np.zeros((0, NUM_KEYPOINTS, 3), dtype=np.float32))
        ids.append(np.array([_track_id(p) for p in persons], dtype=np.int64))
    return PoseFrames(tuple(people), first_canvas[0], first_canvas[1], fps, tuple(ids))


def _flat(points: np.ndarray, keep_scores: bool) -> list[float]:
    shown = points[:, 2] >= VISIBLE_SCORE
    out = np.zeros_like(points, dtype=np.float64)
    out[shown, :2] = points[shown, :2]
    out[shown, 2] = points[shown, 2] if keep_scores else 1.0
    return [float(v) for v in out.reshape(-1)]


def person_dict(keypoints: np.ndarray, track_id: int | None = None, keep_scores: bool = False) -> dict:
    """One ``(133, 3)`` person as a controlnet_aux ``POSE_KEYPOINT`` person (plus ``track_id`` when given)."""
    parts = wholebody_to_openpose(keypoints)
    person: dict[str, Any] = {"pose_keypoints_2d": _flat(parts["body"], keep_scores)}
    for key, part in zip(PART_KEYS, (parts["face"], parts["hand_left"], parts["hand_right"])):
        person[key] = _flat(part, keep_scores) if (part[:, 2] >= VISIBLE_SCORE).any() else None
    if track_id is not None:
        person["track_id"] = int(track_id)
    return person


def write_pose_keypoint(sequence: PoseSequence, keep_scores: bool = False, with_track_ids: bool = True) -> list[dict]:
    """A `PoseSequence` as ``POSE_KEYPOINT``: per frame, the people present, in column order."""
    present = sequence.present(0.0)
    frames = []
    for t in range(sequence.num_frames):
        people = [person_dict(sequence.keypoints[t, p], sequence.track_ids[p] if with_track_ids else None,
                              keep_scores) for p in np.flatnonzero(present[t])]
        frames.append({"people": people, "canvas_height": sequence.height, "canvas_width": sequence.width})
    return frames


def load_pose_json(path: str | Path, canvas: tuple[int, int] | None = None, fps: float = 24.0) -> tuple[list, PoseFrames]:
    """Read a ``POSE_KEYPOINT`` JSON file, one OpenPose JSON file, or a folder of per-frame OpenPose files (in
    name order). Returns the raw frame dicts (to write back with ids) and the parsed `PoseFrames`."""
    path = Path(path)
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    if not files:
        raise InputError("poses", f"no .json files in {path}", "give a POSE_KEYPOINT file or OpenPose JSON folder")
    raw: list = []
    for file in files:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError("poses", f"{file} is not readable JSON ({exc})",
                             "give a POSE_KEYPOINT or OpenPose JSON file") from None
        raw.extend(data if isinstance(data, list) else [data])
    return raw, read_pose_keypoint(raw, canvas, fps)


def with_track_ids(raw: list[dict], frames: PoseFrames, ids: list[np.ndarray]) -> list[dict]:
    """The input frames, unchanged except for a ``track_id`` on each person tracking kept (people dropped as
    empty get none)."""
    out = []
    for frame, sources, frame_ids in zip(raw, frames.sources, ids):
        frame = dict(frame)
        people = [dict(p) for p in frame.get("people", [])]
        for source, track_id in zip(sources.tolist(), frame_ids.tolist()):
            people[source]["track_id"] = int(track_id)
        frame["people"] = people
        out.append(frame)
    return out


def save_json(data: Any, path: str | Path, overwrite: bool = True) -> Path:
    """Write JSON atomically (temp file + rename), so a crash never leaves half a file behind."""
    path = Path(path)
    try:
        text = json.dumps(data, allow_nan=False)  # NaN/Infinity would make the file invalid JSON
    except ValueError:
        raise InputError("poses", "hold NaN or Infinity values, which JSON cannot store",
                         "remove them from the input poses") from None
    with atomic_file(path, overwrite=overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
