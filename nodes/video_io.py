"""Video I/O nodes: load a video or image folder as an IMAGE batch; save a batch as H.264 mp4 and/or PNGs."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

from ..core.video.output_files import next_numbered_path, safe_prefix_path
from ..core.video.reader import FrameSelection, load_frames
from ..core.video.writer import write_mp4, write_png_frames
from . import _inputs as I
from ._host import output_directory, progress_bar, resolve_input_path
from ._types import VIDEO_INFO

CATEGORY = "Choreograph/video"


class ChoreoLoadVideo:
    DESCRIPTION = ("Load a video file (mp4, webm, mov, mkv, gif) or a folder of numbered images as an IMAGE batch, "
                   "with VideoHelperSuite's frame selection: force_rate → skip → every-nth → cap.")
    CATEGORY = CATEGORY
    FUNCTION = "run"
    RETURN_TYPES = ("IMAGE", "INT", "FLOAT", VIDEO_INFO)
    RETURN_NAMES = ("images", "frame_count", "fps", "video_info")
    OUTPUT_TOOLTIPS = ("Frames as IMAGE [frames, height, width, 3], values 0-1.",
                       "Number of frames loaded.", "Frame rate of the loaded frames (after force_rate and every-nth).",
                       "Source and loaded fps, frame count, duration and size (VHS_VIDEOINFO keys).")

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "video": I.text("Path of a video file or an image folder inside ComfyUI's input folder, relative to "
                            "it (e.g. dance.mp4); paths leading out of the input folder are refused.",
                            default="video.mp4"),
            "force_rate": I.number("Resample to this many frames per second; 0 keeps the source rate.",
                                   0.0, 0.0, 240.0, 0.5),
            "custom_width": I.integer("Resize to this width; 0 keeps the source width (or the aspect ratio when "
                                      "only the height is set).", 0, 0, 8192, 8),
            "custom_height": I.integer("Resize to this height; 0 keeps the source height (or the aspect ratio "
                                       "when only the width is set).", 0, 0, 8192, 8),
            "frame_load_cap": I.integer("Load at most this many frames; 0 loads all.", 0, 0, 100000),
            "skip_first_frames": I.integer("Drop this many frames from the start (after force_rate).", 0, 0, 100000),
            "select_every_nth": I.integer("Keep every n-th frame (1 keeps all).", 1, 1, 1000),
        }}

    @classmethod
    def IS_CHANGED(cls, video: str, **_):
        try:
            path = resolve_input_path(video, "video")
        except ValueError:
            return video
        files = sorted(path.iterdir()) if path.is_dir() else [path]
        digest = hashlib.sha256()
        for f in files:
            stat = f.stat()
            digest.update(f"{f.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
        return digest.hexdigest()

    def run(self, video: str, force_rate: float = 0.0, custom_width: int = 0, custom_height: int = 0,
            frame_load_cap: int = 0, skip_first_frames: int = 0, select_every_nth: int = 1):
        path = resolve_input_path(video, "video")
        selection = FrameSelection(force_rate, frame_load_cap, skip_first_frames, select_every_nth,
                                   custom_width, custom_height)
        with progress_bar(frame_load_cap or 1, f"loading {path.name}") as progress:
            loaded = load_frames(path, selection, progress)
        images = torch.from_numpy(loaded.frames)
        return (images, images.shape[0], float(loaded.info["loaded_fps"]), loaded.info)


FORMATS = ("mp4 (H.264)", "png frames", "mp4 + png frames")


class ChoreoSaveVideo:
    DESCRIPTION = ("Save an IMAGE batch as an H.264 mp4 (yuv420p, plays everywhere) and/or numbered PNG frames in "
                   "the output folder. Files are numbered (prefix_00001) and written atomically: nothing existing "
                   "is overwritten and an interrupted save leaves nothing behind.")
    CATEGORY = CATEGORY
    FUNCTION = "run"
    OUTPUT_NODE = True
    RETURN_TYPES = ("STRING",)
    RETURN_NAMES = ("path",)
    OUTPUT_TOOLTIPS = ("Path of the written mp4 (or of the PNG folder when only frames are saved).",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "images": I.image("Frames to save, IMAGE [frames, height, width, channels] in 0-1."),
            "frame_rate": I.number("Playback frames per second of the mp4.", 24.0, 0.1, 240.0, 0.5),
            "filename_prefix": I.text("Output name inside ComfyUI's output folder; may contain sub-folders, "
                                      "e.g. 'choreograph/dance'. A 5-digit counter is appended.",
                                      default="choreograph/video"),
            "format": I.choice("What to write: an mp4, a folder of PNG frames, or both.", FORMATS),
            "crf": I.integer("H.264 quality: lower is better and larger (17-23 is typical).", 19, 0, 51),
        }}

    def run(self, images: torch.Tensor, frame_rate: float = 24.0, filename_prefix: str = "choreograph/video",
            format: str = FORMATS[0], crf: int = 19):
        if format not in FORMATS:
            from ..core.errors import InputError
            raise InputError("format", f"'{format}' is not a known format", f"choose one of {FORMATS}")
        frames = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
        root = output_directory()
        folder, stem = safe_prefix_path(root, filename_prefix)
        video_path = next_numbered_path(folder, stem, ".mp4")
        written: list[Path] = []
        ui: dict[str, list] = {}
        with progress_bar(2 * len(frames), f"saving {stem}") as progress:
            if format != "png frames":
                written.append(write_mp4(frames, video_path, frame_rate, crf, progress=progress))
                # what native SaveVideo returns: the stock frontend shows it as a video on the node
                ui = {"images": [self._ui_entry(video_path, root, frame_rate)], "animated": [True]}
            if format != "mp4 (H.264)":
                png_dir = video_path.with_suffix("") if format != "png frames" else next_numbered_path(folder, stem, "")
                write_png_frames(frames, png_dir, lambda d, t: progress(len(frames) + d, 2 * t))
                written.append(png_dir)
                ui.setdefault("images", [self._ui_entry(png_dir / "frame_00000.png", root, frame_rate)])
        return {"ui": ui, "result": (str(written[0]),)}

    @staticmethod
    def _ui_entry(path: Path, root: Path, frame_rate: float) -> dict:
        subfolder = str(path.parent.resolve().relative_to(root.resolve()))
        entry = {"filename": path.name, "subfolder": "" if subfolder == "." else subfolder, "type": "output"}
        if path.suffix == ".mp4":
            entry.update(format="video/h264-mp4", frame_rate=frame_rate)
        return entry


NODE_CLASS_MAPPINGS = {"ChoreoLoadVideo": ChoreoLoadVideo, "ChoreoSaveVideo": ChoreoSaveVideo}
NODE_DISPLAY_NAME_MAPPINGS = {"ChoreoLoadVideo": "Load Video / Image Folder (Choreograph)",
                              "ChoreoSaveVideo": "Save Video (Choreograph)"}
