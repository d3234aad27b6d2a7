"""Load a video file or an image folder into float frames, with VideoHelperSuite's selection semantics.

Selection is applied in VHS order: resample to ``force_rate`` → drop ``skip_first_frames`` → keep every
``select_every_nth`` → stop at ``frame_load_cap``. Decoding is a generator, so a cap on a long video never decodes
(or holds) more than it needs.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from ..errors import InputError
from ..progress import Progress, no_progress

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
DEFAULT_FOLDER_FPS = 24.0


@dataclass(frozen=True)
class FrameSelection:
    """Which frames to load and at what size; 0 means "as the source" for rate, cap and each dimension."""

    force_rate: float = 0.0
    frame_load_cap: int = 0
    skip_first_frames: int = 0
    select_every_nth: int = 1
    width: int = 0
    height: int = 0

    def __post_init__(self) -> None:
        checks = [("force_rate", self.force_rate >= 0), ("frame_load_cap", self.frame_load_cap >= 0),
                  ("skip_first_frames", self.skip_first_frames >= 0), ("select_every_nth", self.select_every_nth >= 1),
                  ("custom_width", self.width >= 0), ("custom_height", self.height >= 0)]
        for name, ok in checks:
            if not ok:
                raise InputError(name, f"{getattr(self, name.replace('custom_', ''))} is out of range",
                                 "use 0 or a positive value (select_every_nth ≥ 1)")


@dataclass(frozen=True)
class LoadedFrames:
    frames: np.ndarray  # float32 (T, H, W, 3) in [0, 1]
    info: dict  # VHS_VIDEOINFO keys


def _select(frames: Iterator[tuple[float, np.ndarray]], sel: FrameSelection) -> Iterator[np.ndarray]:
    """Apply rate/skip/nth/cap to ``(time_seconds, frame)`` pairs, lazily."""
    kept = 0
    index = -1
    next_time = 0.0
    for time, frame in frames:
        if sel.force_rate:
            if time + 1e-6 < next_time:
                continue
            next_time += 1.0 / sel.force_rate
            while time + 1e-6 >= next_time:  # the source skipped ahead: repeat-free catch-up
                next_time += 1.0 / sel.force_rate
        index += 1
        if index < sel.skip_first_frames or (index - sel.skip_first_frames) % sel.select_every_nth:
            continue
        yield frame
        kept += 1
        if sel.frame_load_cap and kept >= sel.frame_load_cap:
            return


def target_size(width: int, height: int, sel: FrameSelection) -> tuple[int, int]:
    """Output ``(width, height)``: both given → exact; one given → keep the aspect ratio; none → source size."""
    if sel.width and sel.height:
        return sel.width, sel.height
    if sel.width:
        return sel.width, max(1, round(height * sel.width / width))
    if sel.height:
        return max(1, round(width * sel.height / height)), sel.height
    return width, height


def _resize(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if (frame.shape[1], frame.shape[0]) == size:
        return frame
    shrinking = size[0] * size[1] < frame.shape[0] * frame.shape[1]
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def _decode_video(path: Path) -> tuple[Iterator[tuple[float, np.ndarray]], dict]:
    import av

    try:
        container = av.open(str(path))
        stream = container.streams.video[0]
    except (av.error.FFmpegError, IndexError, OSError) as exc:
        raise InputError("video", f"'{path.name}' could not be opened as a video ({exc})",
                         "give an mp4/webm/mov/mkv/gif file, or a folder of images") from None
    rate = stream.average_rate or stream.guessed_rate or Fraction(DEFAULT_FOLDER_FPS)
    fps = float(rate)
    count = stream.frames or 0
    duration = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else count / fps
    meta = {"source_fps": fps, "source_frame_count": count, "source_duration": duration,
            "source_width": stream.codec_context.width, "source_height": stream.codec_context.height}

    def frames() -> Iterator[tuple[float, np.ndarray]]:
        try:
            for i, frame in enumerate(container.decode(stream)):
                time = float(frame.pts * stream.time_base) if frame.pts is not None else i / fps
                yield time, frame.to_ndarray(format="rgb24")
        finally:
            container.close()

    return frames(), meta


def _natural_key(path: Path) -> list:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def list_image_files(folder: Path) -> list[Path]:
    files = sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=_natural_key)
    if not files:
        raise InputError("video", f"'{folder}' contains no images ({', '.join(IMAGE_SUFFIXES)})",
                         "point it at a folder of frames")
    return files


def _read_image(path: Path) -> np.ndarray:
    data = np.fromfile(str(path), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:
        raise InputError("video", f"'{path.name}' is not a readable image", "remove or replace that file")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _decode_folder(folder: Path, same_size: bool) -> tuple[Iterator[tuple[float, np.ndarray]], dict]:
    files = list_image_files(folder)
    first = _read_image(files[0])
    meta = {"source_fps": DEFAULT_FOLDER_FPS, "source_frame_count": len(files),
            "source_duration": len(files) / DEFAULT_FOLDER_FPS,
            "source_width": first.shape[1], "source_height": first.shape[0]}

    def frames() -> Iterator[tuple[float, np.ndarray]]:
        for i, path in enumerate(files):
            image = first if i == 0 else _read_image(path)
            if same_size and image.shape != first.shape:
                raise InputError("video", f"'{path.name}' is {image.shape[1]}x{image.shape[0]} but the first "
                                 f"image is {first.shape[1]}x{first.shape[0]}",
                                 "make all frames the same size, or set custom_width/custom_height")
            yield i / DEFAULT_FOLDER_FPS, image

    return frames(), meta


def load_frames(path: Path, selection: FrameSelection = FrameSelection(),
                progress: Progress = no_progress) -> LoadedFrames:
    """Load a video file or an image folder as float32 ``(T, H, W, 3)`` frames plus VHS-style video info."""
    path = Path(path)
    resizing = bool(selection.width or selection.height)
    source, meta = _decode_folder(path, same_size=not resizing) if path.is_dir() else _decode_video(path)
    size = target_size(meta["source_width"], meta["source_height"], selection)
    expected = selection.frame_load_cap or meta["source_frame_count"] or 1
    kept: list[np.ndarray] = []
    for frame in _select(source, selection):
        kept.append(_resize(frame, size) if resizing else frame)
        progress(len(kept), max(expected, len(kept)))
    if not kept:
        raise InputError("skip_first_frames", f"no frames left to load from '{path.name}' "
                         f"({meta['source_frame_count']} in the source)", "lower skip_first_frames or select_every_nth")
    frames = np.stack(kept).astype(np.float32) / 255.0
    loaded_fps = (selection.force_rate or meta["source_fps"]) / selection.select_every_nth
    info = {**meta, "loaded_fps": loaded_fps, "loaded_frame_count": len(kept),
            "loaded_duration": len(kept) / loaded_fps, "loaded_width": frames.shape[2],
            "loaded_height": frames.shape[1]}
    return LoadedFrames(frames, info)
