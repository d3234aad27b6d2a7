"""Reverse-driving triplets from real clips (SCAIL-2 §3.2): a pose-driven generator re-synthesises each prepared
clip's motion with another character; that video drives, the real clip stays the target.

The generator is any workflow of this pack's nodes (``choreograph run`` machinery, any sampler), in API or editor
form, with placeholders in its text inputs that are filled per clip:

==================== ==========================================================================================
``{poses}``          the clip's tracked poses as a POSE_KEYPOINT JSON file (track ids kept) → Load Pose JSON
``{reference}``      a folder holding the chosen reference image → Load Video (folder of images)
``{reference_poses}`` the reference's poses (``<image>.json`` next to the image) → Load Pose JSON
``{frames}``         a folder of the clip's frames (replacement generators read the scene from it)
``{width}`` ``{height}`` ``{fps}`` ``{frame_count}``  the clip's size, rate and length (numbers)
==================== ==========================================================================================

The driving video is the IMAGE that the workflow's first Save Video node saves (or ``output_node``'s first
output). It must have one frame per clip frame; it is resized to the clip size. Its masks and poses are the clip's
own — the generator was driven by those poses, so its characters stand where the clip's do (an approximation: a
generator's body shape may differ from the skeleton; SCAIL-2 re-segments with SAM3). Each clip gets a reference
drawn by a seeded generator, so a rerun picks the same ones; clips that already have a driving video are skipped.
"""
from __future__ import annotations

import copy
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from ..core.errors import InputError
from ..core.pose.pose_keypoint import save_json, write_pose_keypoint
from ..core.pose.sequence import PoseSequence
from ..core.progress import Progress, no_progress
from .dataset import DRIVING_MODES, Clip, DrivingVideo, add_driving, list_clips

PLACEHOLDERS = ("poses", "reference", "reference_poses", "frames", "width", "height", "fps", "frame_count")
SAVE_NODE = "ChoreoSaveVideo"


@dataclass(frozen=True)
class ReferenceImage:
    """A reference character: an image file and, optionally, its poses (POSE_KEYPOINT JSON)."""

    image: Path
    poses: Path | None = None

    @classmethod
    def from_path(cls, path: str | Path) -> ReferenceImage:
        path = Path(path)
        if not path.is_file():
            raise InputError("reference", f"'{path}' is not an image file", "give PNG/JPEG reference images")
        sidecar = path.with_suffix(".json")
        return cls(path, sidecar if sidecar.is_file() else None)


@dataclass(frozen=True)
class Generator:
    """A generator workflow in API form and where its driving video comes out."""

    prompt: dict
    output: tuple[str, int]
    name: str


def load_generator(path: str | Path, output_node: str | None = None) -> Generator:
    """Read and convert the workflow; find the node output that is the driving video."""
    from ..headless.schema import local_object_info
    from ..headless.workflow import WorkflowFormatError, load_workflow, to_api

    try:
        prompt = to_api(load_workflow(Path(path)), local_object_info())
    except (WorkflowFormatError, OSError) as exc:
        raise InputError("workflow", f"'{path}' cannot be read ({exc})", "give a workflow JSON of this pack's nodes")
    if output_node is not None:
        if output_node not in prompt:
            raise InputError("output_node", f"'{output_node}' is not a node of {path}", "give a node id")
        return Generator(prompt, (output_node, 0), Path(path).name)
    saves = sorted((i for i, n in prompt.items() if n["class_type"] == SAVE_NODE), key=lambda i: (len(i), i))
    if not saves or not isinstance(prompt[saves[0]]["inputs"].get("images"), list):
        raise InputError("workflow", f"'{path}' has no Save Video node fed by the generated frames",
                         "add a Save Video node after the sampler, or pass --output-node")
    source, index = prompt[saves[0]]["inputs"]["images"]
    return Generator(prompt, (str(source), int(index)), Path(path).name)


def fill_placeholders(prompt: dict, values: dict[str, object]) -> dict:
    """A copy of ``prompt`` with ``{name}`` in text inputs replaced; an input that is only a placeholder takes
    the value's own type (numbers stay numbers). A placeholder without a value is an error naming it."""
    out = copy.deepcopy(prompt)
    for node_id, node in out.items():
        for key, value in node.get("inputs", {}).items():
            if not isinstance(value, str) or "{" not in value:
                continue
            for name in PLACEHOLDERS:
                token = "{" + name + "}"
                if token not in value:
                    continue
                if values.get(name) is None:
                    raise InputError("workflow", f"node {node_id} input '{key}' uses {token}, which is not "
                                     "available here", "give references with a <image>.json pose file, or drop it")
                value = values[name] if value == token else value.replace(token, str(values[name]))
                if not isinstance(value, str):
                    break
            node["inputs"][key] = value
    return out


def _clip_inputs(clip: Clip, reference: ReferenceImage, folder: Path, poses: PoseSequence) -> dict[str, object]:
    """Write the per-clip files the placeholders point at; returns the placeholder values."""
    m = clip.meta
    everything = range(m.frames)
    save_json(write_pose_keypoint(poses, keep_scores=True, with_track_ids=True), folder / "poses.json")
    (folder / "reference").mkdir()
    image = cv2.imread(str(reference.image), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError("reference", f"cannot read image '{reference.image}'", "give PNG/JPEG reference images")
    cv2.imwrite(str(folder / "reference" / "000000.png"), image)
    if reference.poses is not None:
        shutil.copyfile(reference.poses, folder / "reference.json")
    (folder / "frames").mkdir()
    for t, frame in enumerate(clip.window(everything).frames):
        cv2.imwrite(str(folder / "frames" / f"{t:06d}.png"), np.ascontiguousarray(frame[..., ::-1]))
    # relative to the run's input folder (this one): file inputs are confined to it
    return {"poses": "poses.json", "reference": "reference",
            "reference_poses": None if reference.poses is None else "reference.json",
            "frames": "frames", "width": m.width, "height": m.height, "fps": m.fps, "frame_count": m.frames}


def _as_frames(images: object, clip: Clip) -> np.ndarray:
    """The generator's IMAGE as ``(T, H, W, 3)`` uint8 at the clip's size; wrong lengths are an error."""
    video = images.detach().cpu().float().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    m = clip.meta
    if video.ndim != 4 or video.shape[0] != m.frames:
        raise InputError("workflow", f"generated {tuple(video.shape)} for clip '{m.path.name}' of {m.frames} frames",
                         "generate one frame per clip frame (segment settings, frame_load_cap)")
    frames = np.clip(np.round(video[..., :3] * 255.0), 0, 255).astype(np.uint8)
    if frames.shape[1:3] != (m.height, m.width):
        frames = np.stack([cv2.resize(f, (m.width, m.height), interpolation=cv2.INTER_AREA) for f in frames])
    return frames


def synthesise_driving(generator: Generator, clip: Clip, reference: ReferenceImage, mode: str,
                       output_dir: Path, poses: PoseSequence | None = None) -> DrivingVideo:
    """Run the generator for ``clip`` with ``reference`` driven by the clip's poses (or ``poses``, e.g. a degraded
    copy for a dispreferred sample): the video, with the clip's masks and those poses (not yet written)."""
    all_frames = range(clip.meta.frames)
    poses = clip.poses(all_frames) if poses is None else poses
    from ..headless.execute import NodeFailed, execute
    from ..headless.schema import local_object_info
    from ..headless.validate import validate
    from ..nodes import NODE_CLASS_MAPPINGS
    from ..nodes._host import set_headless_directory

    with tempfile.TemporaryDirectory(prefix="choreograph_pairs_") as temp:
        prompt = fill_placeholders(generator.prompt, _clip_inputs(clip, reference, Path(temp), poses))
        info = local_object_info()
        problems = validate(prompt, info, NODE_CLASS_MAPPINGS)
        if problems:
            raise InputError("workflow", f"{generator.name} is not valid for clip '{clip.meta.path.name}': "
                             f"{'; '.join(str(p) for p in problems)}", "fix the generator workflow")
        set_headless_directory("output", output_dir)
        set_headless_directory("input", Path(temp))
        try:
            result = execute(prompt, info, NODE_CLASS_MAPPINGS)
        except NodeFailed as exc:
            raise InputError("workflow", f"{generator.name} failed on clip '{clip.meta.path.name}': {exc}",
                             "run the workflow alone with python -m choreograph run to see why") from exc
    node, index = generator.output
    frames = _as_frames(result.outputs[node][index], clip)
    masks = clip.window(all_frames).masks
    source = json.dumps({"workflow": generator.name, "reference": reference.image.name})
    return DrivingVideo(frames, masks, poses, mode, source)


def make_pairs(root: str | Path, generator: Generator, references: list[ReferenceImage], mode: str = "animation",
               seed: int = 0, output_dir: Path = Path("output"), progress: Progress = no_progress) -> list[Path]:
    """Give every clip under ``root`` without one a generated driving video; returns the clips written."""
    if mode not in DRIVING_MODES:
        raise InputError("mode", f"unknown mode '{mode}'", f"use one of {DRIVING_MODES}")
    if not references:
        raise InputError("reference", "no reference images given", "pass --reference IMAGE (repeatable)")
    clips = [Clip(path) for path in list_clips(root)]
    written = []
    for index, clip in enumerate(clips):
        if clip.meta.driving_mode is None:
            rng = np.random.default_rng([seed, index])
            reference = references[int(rng.integers(len(references)))]
            add_driving(clip.meta.path, synthesise_driving(generator, clip, reference, mode, output_dir))
            written.append(clip.meta.path)
        progress(index + 1, len(clips))
    return written
