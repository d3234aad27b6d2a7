"""DWPose on a clip: YOLOX person boxes, then whole-body keypoints per box, batched through onnxruntime.

Model files are DWPose's own (``yzd-v/DWPose`` on the hub), looked up in the ``detection`` models folder (the folder
WanAnimatePreprocess registers, so users keep one copy). Sessions are cached per file, modification time and
execution providers. CPU efficiency comes from batching: person crops of many frames go through the estimator in
one call, and frames go through the detector together when its batch axis is dynamic.
"""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import InputError, MissingModelError
from ..models.files import ModelFile, locate_model, missing_model_message, onnx_session
from ..progress import Progress, no_progress
from . import rtmpose, yolox
from .detections import PoseFrames
from .wholebody import NUM_KEYPOINTS

LOG = logging.getLogger("choreograph")

MODEL_FOLDER = "detection"
DETECTOR = ModelFile("yolox_l.onnx", MODEL_FOLDER, hub_repo="yzd-v/DWPose")
ESTIMATOR = ModelFile("dw-ll_ucoco_384.onnx", MODEL_FOLDER, hub_repo="yzd-v/DWPose")


@dataclass(frozen=True)
class DWPose:
    """Loaded DWPose sessions (``detector`` None: every frame is one whole-frame box)."""

    estimator: object
    detector: object | None = None
    batch_size: int = 16


def execution_providers(device: str = "auto") -> tuple[str, ...]:
    """onnxruntime providers for ``device`` ("auto", "cpu", "cuda"), best first and only those installed."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    wanted = {"cpu": ["CPUExecutionProvider"], "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
              "auto": ["CUDAExecutionProvider", "ROCMExecutionProvider", "CoreMLExecutionProvider",
                       "CPUExecutionProvider"]}[device]
    return tuple(p for p in wanted if p in available) or ("CPUExecutionProvider",)


@functools.lru_cache(maxsize=4)
def _session(path: str, modified: float, providers: tuple[str, ...], input_name: str):
    return onnx_session(path, input_name, providers)


def load_session(path: Path, device: str = "auto", input_name: str = "models"):
    """A cached onnxruntime session for ``path`` (reloaded if the file changes)."""
    path = Path(path)
    return _session(str(path.resolve()), path.stat().st_mtime, execution_providers(device), input_name)


def model_file(filename: str, default: ModelFile) -> ModelFile:
    """The `ModelFile` for a user-chosen file name (downloadable only when it is DWPose's own)."""
    return default if filename == default.filename else ModelFile(filename, MODEL_FOLDER)


def load_dwpose(search_dirs: Sequence[Path], device: str = "auto", detector_file: str | None = DETECTOR.filename,
                estimator_file: str = ESTIMATOR.filename, batch_size: int = 16) -> DWPose:
    """Find (or download) the DWPose files in ``search_dirs`` and load them; ``detector_file`` None skips the
    person detector (one whole-frame box per frame)."""
    if batch_size < 1:
        raise InputError("batch_size", f"{batch_size} is not positive", "use 1 or more")
    wanted = [model_file(estimator_file, ESTIMATOR)] + ([model_file(detector_file, DETECTOR)] if detector_file else [])
    found, missing = [], []
    for model in wanted:  # look for every file first, so all missing ones are named at once
        try:
            found.append(locate_model(model, search_dirs))
        except MissingModelError:
            missing.append(model)
    if missing:
        raise MissingModelError(missing_model_message(missing, search_dirs))
    estimator, *detector = (load_session(path, device) for path in found)
    return DWPose(estimator, detector[0] if detector else None, batch_size)


def as_uint8_rgb(images: np.ndarray) -> np.ndarray:
    """``(T, H, W, 3)`` uint8 from uint8 or 0..1 float frames (float scaled like controlnet_aux: ×255, truncated)."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] not in (3, 4):
        raise InputError("images", f"expected frames of shape (T, H, W, 3); got {images.shape}",
                         "give an IMAGE batch (RGB)")
    if images.shape[0] == 0:
        raise InputError("images", "no frames", "give at least one frame")
    if images.dtype != np.uint8:
        images = (np.clip(np.nan_to_num(images), 0.0, 1.0) * 255.0).astype(np.uint8)
    return np.ascontiguousarray(images[..., :3])


def _dynamic_batch(session) -> bool:
    return not isinstance(session.get_inputs()[0].shape[0], int)


def _input_hw(session) -> tuple[int, int] | None:
    """The (height, width) of a session's NCHW input when fixed in the model file."""
    shape = session.get_inputs()[0].shape
    return (shape[2], shape[3]) if all(isinstance(s, int) for s in shape[2:4]) else None


def detect_boxes(detector, images: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Person boxes ``(N_t, 4)`` for each frame."""
    size = _input_hw(detector) or yolox.INPUT_SIZE
    name = detector.get_inputs()[0].name
    step = batch_size if _dynamic_batch(detector) else 1
    boxes = []
    for start in range(0, len(images), step):
        inputs, ratios = zip(*(yolox.letterbox(img, size) for img in images[start:start + step]))
        raw = detector.run(None, {name: np.stack(inputs)})[0]
        boxes += [yolox.person_boxes(r, ratio, size) for r, ratio in zip(raw, ratios)]
    return boxes


def _simcc(estimator, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    outputs = estimator.run(None, {estimator.get_inputs()[0].name: batch})
    names = [o.name for o in estimator.get_outputs()]
    if "simcc_x" in names and "simcc_y" in names:
        return outputs[names.index("simcc_x")], outputs[names.index("simcc_y")]
    return outputs[0], outputs[1]


def estimate_keypoints(estimator, images: np.ndarray, boxes: list[np.ndarray], batch_size: int,
                       progress: Progress = no_progress) -> list[np.ndarray]:
    """``(N_t, 133, 3)`` keypoints for the boxes of each frame, crops of several frames batched together."""
    hw = _input_hw(estimator)
    size = (hw[1], hw[0]) if hw else rtmpose.INPUT_SIZE
    jobs = [(t, box) for t, frame_boxes in enumerate(boxes) for box in frame_boxes]
    step = batch_size if _dynamic_batch(estimator) else 1
    results: list[list[np.ndarray]] = [[] for _ in boxes]
    for start in range(0, len(jobs), step):
        chunk = jobs[start:start + step]
        centre, scale = rtmpose.box_centre_scale(np.stack([box for _, box in chunk]), size)
        batch = np.stack([rtmpose.crop_person(images[t], c, s, size) for (t, _), c, s in zip(chunk, centre, scale)])
        simcc_x, simcc_y = _simcc(estimator, batch)
        locations, scores = rtmpose.decode_simcc(simcc_x, simcc_y, simcc_x.shape[-1] / size[0])
        points = rtmpose.to_image(locations, centre, scale, size)
        for (t, _), xy, score in zip(chunk, points, scores):
            results[t].append(np.concatenate([xy, score[:, None]], axis=1))
        progress(min(start + step, len(jobs)), len(jobs))
    return [np.stack(r).astype(np.float32) if r else np.zeros((0, NUM_KEYPOINTS, 3), np.float32) for r in results]


def extract_poses(model: DWPose, images: np.ndarray, fps: float = 24.0, progress: Progress = no_progress) -> PoseFrames:
    """Untracked whole-body poses of every person in every frame (``images``: ``(T, H, W, 3)``, RGB)."""
    frames = as_uint8_rgb(images)
    height, width = frames.shape[1:3]
    if model.detector is None:
        boxes = [np.array([[0, 0, width, height]], dtype=np.float32)] * len(frames)
    else:
        boxes = detect_boxes(model.detector, frames, model.batch_size)
        progress(len(frames), 2 * len(frames))
    people = estimate_keypoints(model.estimator, frames, boxes, model.batch_size,
                                lambda d, n: progress(len(frames) + round(len(frames) * d / max(n, 1)),
                                                      2 * len(frames)))
    progress(2 * len(frames), 2 * len(frames))
    result = PoseFrames(tuple(people), width, height, fps)
    if result.repaired:
        LOG.info("Choreograph: %d DWPose points outside the frame or not finite were marked not seen",
                 result.repaired)
    return result
