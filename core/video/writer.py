"""Write frames as an H.264 mp4 (PyAV/libx264, yuv420p, playable everywhere) or as numbered PNG files.

Every write goes through ``output_files.atomic_*``: an interrupted write leaves nothing behind, and an existing
file is never replaced silently.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError
from ..progress import Progress, no_progress
from .frames import to_uint8_rgb
from .output_files import atomic_directory, atomic_file


def _pad_to_even(frames: np.ndarray) -> np.ndarray:
    """yuv420p needs even sides: repeat the last row/column instead of failing on odd sizes."""
    pad_h, pad_w = frames.shape[1] % 2, frames.shape[2] % 2
    if pad_h or pad_w:
        frames = np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    return frames


def write_mp4(frames: np.ndarray, path: Path, fps: float, crf: int = 19, overwrite: bool = False,
              progress: Progress = no_progress) -> Path:
    """Encode ``frames`` to ``path`` as H.264; returns ``path``."""
    import av

    if not fps > 0:
        raise InputError("frame_rate", f"{fps} is not a positive frame rate", "use e.g. 24")
    if not 0 <= crf <= 51:
        raise InputError("crf", f"{crf} is outside 0..51", "use 17-23 for good quality")
    rgb = _pad_to_even(to_uint8_rgb(frames))
    with atomic_file(Path(path), overwrite=overwrite) as tmp:
        with av.open(str(tmp), mode="w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
            stream.width, stream.height = rgb.shape[2], rgb.shape[1]
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": str(crf)}
            for i, image in enumerate(rgb):
                container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
                progress(i + 1, len(rgb))
            container.mux(stream.encode(None))
    return Path(path)


def write_png_frames(frames: np.ndarray, folder: Path, progress: Progress = no_progress) -> list[Path]:
    """Write ``folder/frame_00000.png`` ...; the folder appears complete or not at all."""
    rgb = to_uint8_rgb(frames)
    names = [f"frame_{i:05d}.png" for i in range(len(rgb))]
    with atomic_directory(Path(folder)) as tmp:
        for i, (name, image) in enumerate(zip(names, rgb)):
            ok, data = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
            if not ok:
                raise RuntimeError(f"PNG encoding failed for frame {i}")
            (tmp / name).write_bytes(data.tobytes())
            progress(i + 1, len(rgb))
    return [Path(folder) / name for name in names]
