"""Pose nodes: DWPose extraction, identity tracking, POSE_KEYPOINT ⇄ CHOREO_POSE, retargeting, smoothing and
pose JSON files; thin wrappers over ``core.pose``."""
from __future__ import annotations

import logging

import numpy as np
import torch

from ..core.conditioning.characters import pair_references
from ..core.conditioning.identity import IdentityMap
from ..core.errors import InputError
from ..core.pose.augment import normalise_to_reference
from ..core.pose.extract import DETECTOR, ESTIMATOR, MODEL_FOLDER, as_uint8_rgb, extract_poses, load_dwpose
from ..core.pose.pose_keypoint import load_pose_json, read_pose_keypoint, save_json, write_pose_keypoint
from ..core.pose.retarget import retarget_sequence
from ..core.pose.sequence import PoseSequence
from ..core.pose.smoothing import smooth_sequence
from ..core.pose.tracking import TrackerConfig, assign_track_ids, sequence_from_ids, track_poses
from ..core.video.output_files import next_numbered_path, safe_prefix_path
from . import _inputs as I
from ._host import model_file_names, model_search_dirs, output_directory, progress_bar, resolve_input_path
from ._models import DEVICES
from ._types import IDENTITY_MAP, POSE

LOG = logging.getLogger("choreograph")
CATEGORY = "Choreograph/pose"
POSE_KEYPOINT = "POSE_KEYPOINT"
NO_DETECTOR = "none (whole frame is one person)"
MAX_SIZE = 16384


def _frames(images: torch.Tensor | np.ndarray) -> np.ndarray:
    return images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)


def _onnx_choices(default: str) -> list[str]:
    """The default DWPose file first (downloaded when missing), then other .onnx files in the models folder."""
    found = [n for n in model_file_names(MODEL_FOLDER) if n.endswith(".onnx") and n != default]
    return [default] + found


def _canvas(width: int, height: int) -> tuple[int, int] | None:
    return (width, height) if width > 0 and height > 0 else None


def _canvas_inputs() -> dict:
    return {
        "width": I.integer("Canvas width for frames that carry no canvas size (plain OpenPose files); 0: none.",
                           0, 0, MAX_SIZE, 8),
        "height": I.integer("Canvas height for frames that carry no canvas size; 0: none.", 0, 0, MAX_SIZE, 8),
        "fps": I.number("Frame rate of the poses (kept with them for later stages).", 24.0, 0.1, 240.0, 0.5),
    }


def _tracker_inputs() -> dict:
    return {
        "max_people": I.integer("Keep only this many identities (those seen in most frames); 0 keeps everyone.",
                                0, 0, 64),
        "max_lost_frames": I.integer("How long a person may be gone (occluded, out of frame) and still get the "
                                     "same id back when they return.", 150, 1, 100000),
        "min_track_frames": I.integer("Drop identities seen in fewer frames than this (spurious detections).",
                                      1, 1, 100000),
    }


def _tracker(max_people: int, max_lost_frames: int, min_track_frames: int) -> TrackerConfig:
    return TrackerConfig(max_people=max_people, max_lost_frames=max_lost_frames, min_track_frames=min_track_frames)


class ChoreoDWPose:
    DESCRIPTION = ("DWPose whole-body poses (133 keypoints: body, feet, face, hands) of every person in every frame, "
                   "with persistent identities: people keep their track id through crossings, occlusion and exits "
                   "(controlnet_aux re-sorts left to right each frame instead). Models: yolox_l.onnx and "
                   "dw-ll_ucoco_384.onnx in models/detection (downloaded from yzd-v/DWPose when online).")
    CATEGORY = CATEGORY
    FUNCTION = "run"
    RETURN_TYPES = (POSE_KEYPOINT, POSE)
    RETURN_NAMES = ("pose_keypoint", "poses")
    OUTPUT_TOOLTIPS = ("controlnet_aux POSE_KEYPOINT (OpenPose-18 + face + hands, pixels) with a track_id per person.",
                       "Tracked poses: one column per identity for the whole clip.")

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "images": I.image("Frames to analyse, IMAGE [frames, height, width, 3] in 0-1."),
            "detector_model": I.choice("Person detector (YOLOX) in models/detection; 'none' treats each whole "
                                       "frame as one person.", _onnx_choices(DETECTOR.filename) + [NO_DETECTOR]),
            "pose_model": I.choice("Whole-body estimator (DWPose RTMPose) in models/detection.",
                                   _onnx_choices(ESTIMATOR.filename)),
            "device": I.choice("onnxruntime device: auto uses CUDA when onnxruntime-gpu is installed.", DEVICES),
            "batch_size": I.integer("Person crops per estimator call (larger is faster, uses more memory).",
                                    16, 1, 256),
            "fps": I.number("Frame rate of the frames (kept with the poses).", 24.0, 0.1, 240.0, 0.5),
            **_tracker_inputs(),
        }}

    def run(self, images, detector_model: str = DETECTOR.filename, pose_model: str = ESTIMATOR.filename,
            device: str = "auto", batch_size: int = 16, fps: float = 24.0, max_people: int = 0,
            max_lost_frames: int = 150, min_track_frames: int = 1):
        frames = as_uint8_rgb(_frames(images))
        model = load_dwpose(model_search_dirs(MODEL_FOLDER), device,
                            None if detector_model == NO_DETECTOR else detector_model, pose_model, batch_size)
        with progress_bar(3 * len(frames), "DWPose") as progress:
            found = extract_poses(model, frames, fps, lambda d, n: progress(2 * len(frames) * d // max(n, 1),
                                                                          3 * len(frames)))
            poses = track_poses(found, frames, _tracker(max_people, max_lost_frames, min_track_frames),
                                lambda d, n: progress(2 * len(frames) + d, 3 * len(frames)))
        LOG.info("Choreograph: DWPose found %d identities in %d frames", poses.num_people, poses.num_frames)
        return (write_pose_keypoint(poses), poses)


class ChoreoPoseTrack:
    DESCRIPTION = ("Give every person of a POSE_KEYPOINT (e.g. from controlnet_aux's DWPose, where people are "
                   "re-sorted every frame) a persistent identity, through swaps, crossings, occlusion and exit/"
                   "re-entry. Connect the frames too and clothing colour helps tell people apart.")
    CATEGORY = CATEGORY
    FUNCTION = "run"
    RETURN_TYPES = (POSE, POSE_KEYPOINT)
    RETURN_NAMES = ("poses", "pose_keypoint")
    OUTPUT_TOOLTIPS = ("Tracked poses: one column per identity.",
                       "The same people as POSE_KEYPOINT with a track_id each (other packs ignore it).")

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "pose_keypoint": I.custom(POSE_KEYPOINT, "Poses per frame in controlnet_aux / OpenPose format."),
            **_canvas_inputs(),
            **_tracker_inputs(),
        }, "optional": {
            "images": I.image("Optional: the frames the poses came from; adds a clothing-colour cue."),
        }}

    def run(self, pose_keypoint, width: int = 0, height: int = 0, fps: float = 24.0, max_people: int = 0,
            max_lost_frames: int = 150, min_track_frames: int = 1, images=None):
        frames = read_pose_keypoint(pose_keypoint, _canvas(width, height), fps)
        config = _tracker(max_people, max_lost_frames, min_track_frames)
        pixels = None if images is None else as_uint8_rgb(_frames(images))
        with progress_bar(frames.num_frames, "tracking") as progress:
            ids = assign_track_ids(frames, pixels, config, progress)
        poses = sequence_from_ids(frames, ids, config)
        return (poses, write_pose_keypoint(poses))


class ChoreoPoseFromKeypoint:
    DESCRIPTION = ("Convert POSE_KEYPOINT to Choreograph poses. Track ids already in it (written by this pack) are "
                   "kept; without them the people are tracked.")
    CATEGORY = CATEGORY
    FUNCTION = "run"
    RETURN_TYPES = (POSE,)
    RETURN_NAMES = ("poses",)
    OUTPUT_TOOLTIPS = ("Poses with one column per identity.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "pose_keypoint": I.custom(POSE_KEYPOINT, "Poses per frame in controlnet_aux / OpenPose format."),
            **_canvas_inputs(),
        }}

    def run(self, pose_keypoint, width: int = 0, height: int = 0, fps: float = 24.0):
        frames = read_pose_keypoint(pose_keypoint, _canvas(width, height), fps)
        with progress_bar(frames.num_frames, "tracking") as progress:
            return (track_poses(frames, progress=progress),)


class ChoreoPoseToKeypoint:
    DESCRIPTION = ("Convert Choreograph poses to controlnet_aux's POSE_KEYPOINT (OpenPose-18 body, 70-point face, "
                   "21-point hands, pixels), so pose editors and renderers of other packs can use them.")
    CATEGORY = CATEGORY
    FUNCTION = "run"
    RETURN_TYPES = (POSE_KEYPOINT,)
    RETURN_NAMES = ("pose_keypoint",)
    OUTPUT_TOOLTIPS = ("One dict per frame with the people present in it.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "poses": I.custom(POSE, "Tracked poses."),
            "keep_scores": I.boolean("Write real confidences. Off (controlnet_aux's convention): points scoring "
                                     "0.3 or more get confidence 1, the rest 0,0,0 - other packs drop c < 1.", False),
            "track_ids": I.boolean("Add a 'track_id' to each person (ignored by other packs).", True),
        }}

    def run(self, poses: PoseSequence, keep_scores: bool = False, track_ids: bool = True):
        return (write_pose_keypoint(poses, keep_scores, track_ids),)


class ChoreoPoseRetarget:
    DESCRIPTION = ("Give each driving identity the bone lengths of the reference character it animates (DreamActor-"
                   "M2 style), so a tall dancer does not stretch a short character; optionally also place each "
                   "clip's motion inside the character's box in the reference image.")
    CATEGORY = CATEGORY
    FUNCTION = "run"
    RETURN_TYPES = (POSE,)
    RETURN_NAMES = ("poses",)
    OUTPUT_TOOLTIPS = ("Driving poses with the characters' proportions; track ids unchanged.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "driving": I.custom(POSE, "Tracked poses of the driving video."),
            "reference": I.custom(POSE, "Poses of the reference image (its frame 0 is used)."),
            "identity_map": I.custom(IDENTITY_MAP, "The identity map; only its identities are retargeted."),
            "reference_mapping": I.text("Optional 'driving_track:reference_id' pairs. Empty: both sides left to "
                                        "right, as for the character slots."),
            "fit_to_reference_box": I.boolean("Also move and scale each identity's whole-clip box into its "
                                              "character's box in the reference (removes position and size).", False),
        }}

    def run(self, driving: PoseSequence, reference: PoseSequence, identity_map: IdentityMap,
            reference_mapping: str = "", fit_to_reference_box: bool = False):
        pairs = pair_references(driving, reference, identity_map, reference_mapping)
        out = retarget_sequence(driving, reference, pairs)
        return (normalise_to_reference(out, reference, pairs) if fit_to_reference_box else out,)


class ChoreoPoseSmooth:
    DESCRIPTION = ("Remove keypoint jitter without lag: each point is refitted from its neighbours in time by a "
                   "local linear fit, which follows steady motion exactly (no trailing behind the beat).")
    CATEGORY = CATEGORY
    FUNCTION = "run"
    RETURN_TYPES = (POSE,)
    RETURN_NAMES = ("poses",)
    OUTPUT_TOOLTIPS = ("Smoothed poses; unseen points stay unseen.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "poses": I.custom(POSE, "Tracked poses."),
            "sigma": I.number("Smoothing width in frames (Gaussian sigma); 0 turns it off.", 1.5, 0.0, 30.0, 0.1),
        }}

    def run(self, poses: PoseSequence, sigma: float = 1.5):
        return (smooth_sequence(poses, sigma),)


class ChoreoLoadPoseJSON:
    DESCRIPTION = ("Load poses from a POSE_KEYPOINT JSON file (controlnet_aux's saved format, or ours with track "
                   "ids), one OpenPose JSON file, or a folder of per-frame OpenPose files (BODY_25 or COCO-18).")
    CATEGORY = CATEGORY
    FUNCTION = "run"
    RETURN_TYPES = (POSE_KEYPOINT,)
    RETURN_NAMES = ("pose_keypoint",)
    OUTPUT_TOOLTIPS = ("The frames as POSE_KEYPOINT, with the canvas size filled in where the file had none.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "path": I.text("JSON file or folder inside ComfyUI's input folder, relative to it (the pack's "
                           "examples: workflows/assets/...)."),
            **_canvas_inputs(),
        }}

    def run(self, path: str, width: int = 0, height: int = 0, fps: float = 24.0):
        raw, frames = load_pose_json(resolve_input_path(path, "path"), _canvas(width, height), fps)
        size = {"canvas_width": frames.width, "canvas_height": frames.height}
        return ([{**size, **frame} for frame in raw],)


class ChoreoSavePoseJSON:
    DESCRIPTION = "Save POSE_KEYPOINT as JSON in the output folder (never overwrites; never half-written)."
    CATEGORY = CATEGORY
    FUNCTION = "run"
    OUTPUT_NODE = True
    RETURN_TYPES = ("STRING",)
    RETURN_NAMES = ("path",)
    OUTPUT_TOOLTIPS = ("Path of the written JSON file.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "pose_keypoint": I.custom(POSE_KEYPOINT, "Poses to save."),
            "filename_prefix": I.text("Name inside the output folder, may contain sub-folders; a 5-digit counter "
                                      "is appended.", default="choreograph/poses"),
        }}

    def run(self, pose_keypoint, filename_prefix: str = "choreograph/poses"):
        if not isinstance(pose_keypoint, list):
            raise InputError("pose_keypoint", "is not a list of frames", "connect a POSE_KEYPOINT output")
        folder, stem = safe_prefix_path(output_directory(), filename_prefix)
        path = save_json(pose_keypoint, next_numbered_path(folder, stem, ".json"), overwrite=False)
        return {"ui": {"text": [str(path)]}, "result": (str(path),)}


NODE_CLASS_MAPPINGS = {
    "ChoreoDWPose": ChoreoDWPose,
    "ChoreoPoseTrack": ChoreoPoseTrack,
    "ChoreoPoseFromKeypoint": ChoreoPoseFromKeypoint,
    "ChoreoPoseToKeypoint": ChoreoPoseToKeypoint,
    "ChoreoPoseRetarget": ChoreoPoseRetarget,
    "ChoreoPoseSmooth": ChoreoPoseSmooth,
    "ChoreoLoadPoseJSON": ChoreoLoadPoseJSON,
    "ChoreoSavePoseJSON": ChoreoSavePoseJSON,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "ChoreoDWPose": "DWPose + Tracking (Choreograph)",
    "ChoreoPoseTrack": "Track Poses (Choreograph)",
    "ChoreoPoseFromKeypoint": "POSE_KEYPOINT to Poses (Choreograph)",
    "ChoreoPoseToKeypoint": "Poses to POSE_KEYPOINT (Choreograph)",
    "ChoreoPoseRetarget": "Retarget Poses to Characters (Choreograph)",
    "ChoreoPoseSmooth": "Smooth Poses (Choreograph)",
    "ChoreoLoadPoseJSON": "Load Pose JSON (Choreograph)",
    "ChoreoSavePoseJSON": "Save Pose JSON (Choreograph)",
}
