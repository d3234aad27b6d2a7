"""Evaluation nodes: identity-swap QA of a generated video, and reference-based video / pose scores.

Each writes its JSON report (strict JSON, NaN as null) into the output folder and returns it as a STRING.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ..core.errors import InputError
from ..core.metrics.identity import Embedder, colour_texture_embedding
from ..core.metrics.networks import crop_embedder, onnx_network
from ..core.metrics.qa import DEFAULT_DRIFT_DROP, DEFAULT_WINDOW, qa_overlay
from ..core.metrics.qa_card import qa_card, write_png
from ..core.metrics.report import format_table, json_safe, write_report
from ..core.metrics.suite import evaluate_poses, evaluate_videos, identity_check
from ..core.metrics.tracking import frames_from_masks, tracking_metrics
from ..core.models.files import ModelFile, locate_model
from ..core.video.output_files import atomic_file, next_numbered_path, safe_prefix_path
from . import _inputs as I
from ._host import model_file_names, model_search_dirs, output_directory, progress_bar
from ._types import CHARACTERS, MASKS, POSE

CATEGORY = "Choreograph/evaluation"
REID_FOLDER = "reid"
COLOUR_TEXTURE = "colour/texture (no weights)"


def _embedder_choices() -> list[str]:
    return [COLOUR_TEXTURE] + [n for n in model_file_names(REID_FOLDER) if n.endswith(".onnx")]


def _embedder(choice: str) -> Embedder:
    """The appearance embedder: the weight-free descriptor, or a re-ID ONNX network from ``models/reid``."""
    if choice == COLOUR_TEXTURE:
        return colour_texture_embedding
    if not choice.endswith(".onnx"):
        raise InputError("embedder", f"'{choice}' is not an ONNX re-ID model", "pick a .onnx file from models/reid")
    return crop_embedder(onnx_network(locate_model(ModelFile(choice, REID_FOLDER), model_search_dirs(REID_FOLDER),
                                                   download=False), "embedder"))


def _save(report: dict, filename_prefix: str) -> tuple[str, dict]:
    """Write ``report`` as the next numbered JSON under the output folder; return its text and a UI entry."""
    root = output_directory()
    folder, stem = safe_prefix_path(root, filename_prefix)
    path = write_report(report, next_numbered_path(folder, stem, ".json"))
    subfolder = str(path.parent.resolve().relative_to(root.resolve()))
    entry = {"filename": path.name, "subfolder": "" if subfolder == "." else subfolder, "type": "output"}
    return json.dumps(json_safe(report), indent=2, allow_nan=False), entry


def _save_card(card: np.ndarray, report_entry: dict) -> dict:
    """Write the QA card PNG beside its JSON report; return the UI entry the frontend shows as an image."""
    path = output_directory() / report_entry["subfolder"] / Path(report_entry["filename"]).with_suffix(".png")
    with atomic_file(path, overwrite=True) as tmp:
        write_png(card, tmp)
    return {**report_entry, "filename": path.name}


def _video(images: torch.Tensor, name: str) -> np.ndarray:
    array = images.detach().cpu().float().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    if array.ndim != 4 or array.shape[-1] < 3:
        raise InputError(name, f"expected an IMAGE batch [frames, H, W, 3], got {array.shape}", "connect frames")
    return array[..., :3]


class ChoreoIdentityQA:
    DESCRIPTION = ("Check a generated video for identity swaps and drift. Each driving identity's body region "
                   "(drawn from its tracked poses) is compared with every character's reference crop; per window "
                   "of frames the identity is 'held', 'swapped' (it looks like another character) or 'drifted' "
                   "(its likeness faded). Outputs an overlay (ids in colour, a red box and bar where identity "
                   "broke), the JSON report (also saved), and whether every identity held.")
    CATEGORY = CATEGORY
    FUNCTION = "run"
    OUTPUT_NODE = True
    RETURN_TYPES = ("IMAGE", "STRING", "BOOLEAN")
    RETURN_NAMES = ("overlay", "report", "identity_held")
    OUTPUT_TOOLTIPS = ("The video with each identity outlined and labelled, red where its identity broke.",
                       "JSON: verdict per identity and window, swap pairs, drift, per-frame IC accuracy.",
                       "True when no identity swapped or drifted in any window.")

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "images": I.image("The generated video, IMAGE [frames, H, W, 3] in 0-1."),
            "poses": I.custom(POSE, "The tracked driving poses the video was generated from (same frames); they "
                                    "say where each identity should be."),
            "characters": I.custom(CHARACTERS, "The character slots: each driving identity's reference crop."),
            "window": I.integer("Frames per verdict window; shorter finds swaps sooner but is noisier.",
                                DEFAULT_WINDOW, 1, 1000),
            "drift_drop": I.number("Flag drift when an identity's likeness to its own reference falls this far "
                                   "(cosine) below its first window.", DEFAULT_DRIFT_DROP, 0.01, 2.0, 0.01),
            "filename_prefix": I.text("Report name in the output folder (a 5-digit counter and .json are added).",
                                      default="choreograph/identity_qa"),
            "embedder": I.choice("How looks are compared: colour/clothing histograms (no weights; tells apart "
                                 "differently dressed characters), or a person re-ID network (e.g. OSNet exported "
                                 "to ONNX, input 256×128, ImageNet normalisation) from models/reid.",
                                 _embedder_choices()),
        }}

    def run(self, images, poses, characters, window: int = DEFAULT_WINDOW, drift_drop: float = DEFAULT_DRIFT_DROP,
            filename_prefix: str = "choreograph/identity_qa", embedder: str = COLOUR_TEXTURE):
        video = _video(images, "images")
        with progress_bar(1, "identity QA") as progress:
            report, regions = identity_check(video, poses, characters, window, drift_drop, progress,
                                             _embedder(embedder))
        drawn = qa_overlay(video, regions, report)
        overlay = torch.from_numpy(drawn.astype(np.float32) / 255.0)
        text, entry = _save(report.as_dict(), filename_prefix)
        card = _save_card(qa_card(drawn, report), entry)
        summary = "identity held" if report.ok else f"identity broke: {len(report.swaps())} swap window(s)"
        return {"ui": {"images": [card], "text": [summary], "reports": [entry]}, "result": (overlay, text, report.ok)}


class ChoreoVideoMetrics:
    DESCRIPTION = ("Score a generated video against its ground truth: L1, PSNR, SSIM, ST-SSIM and GMSD-T on the "
                   "full frame, and on the people's region when a mask is connected. Saves and returns a JSON "
                   "report. Both videos must have the same frame count and size.")
    CATEGORY = CATEGORY
    FUNCTION = "run"
    OUTPUT_NODE = True
    RETURN_TYPES = ("STRING",)
    RETURN_NAMES = ("report",)
    OUTPUT_TOOLTIPS = ("JSON with the scores (null where a score is undefined, with the reason in notes).",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "images": I.image("The generated video, IMAGE [frames, H, W, 3] in 0-1."),
            "reference_images": I.image("The ground-truth video, same frame count and size."),
            "filename_prefix": I.text("Report name in the output folder (a 5-digit counter and .json are added).",
                                      default="choreograph/video_metrics"),
        }, "optional": {
            "people_mask": I.mask("Optional MASK [frames, H, W] of the people; adds 'masked_*' scores that ignore "
                                  "the background."),
        }}

    def run(self, images, reference_images, filename_prefix: str = "choreograph/video_metrics", people_mask=None):
        masks = None if people_mask is None else np.asarray(people_mask.detach().cpu().float().numpy())
        sections = evaluate_videos(_video(images, "images"), _video(reference_images, "reference_images"), masks)
        text, entry = _save(sections, filename_prefix)
        return {"ui": {"text": [format_table(sections)], "reports": [entry]}, "result": (text,)}


class ChoreoPoseMetrics:
    DESCRIPTION = ("Score generated poses against ground-truth poses: tracking (HOTA, MOTA, IDF1, ID switches on "
                   "keypoint boxes) and pose/interaction (MPJPE after alignment, OKS, PoseSSIM, SmoothRMS, "
                   "TimeDynRMSE, FVMD). Saves and returns a JSON report.")
    CATEGORY = CATEGORY
    FUNCTION = "run"
    OUTPUT_NODE = True
    RETURN_TYPES = ("STRING",)
    RETURN_NAMES = ("report",)
    OUTPUT_TOOLTIPS = ("JSON with the tracking and pose scores.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "poses": I.custom(POSE, "Tracked poses extracted from the generated video."),
            "ground_truth_poses": I.custom(POSE, "Tracked poses of the ground truth (same canvas)."),
            "filename_prefix": I.text("Report name in the output folder (a 5-digit counter and .json are added).",
                                      default="choreograph/pose_metrics"),
        }}

    def run(self, poses, ground_truth_poses, filename_prefix: str = "choreograph/pose_metrics"):
        sections = evaluate_poses(poses, ground_truth_poses)
        text, entry = _save(sections, filename_prefix)
        return {"ui": {"text": [format_table(sections)], "reports": [entry]}, "result": (text,)}


class ChoreoTrackingMetrics:
    DESCRIPTION = ("Score tracked per-identity masks against ground-truth masks with the TrackEval conventions: "
                   "HOTA (DetA, AssA, LocA), MOTA/MOTP, IDF1/IDP/IDR, ID switches, misses and false positives, "
                   "similarity = mask IoU. Saves and returns a JSON report.")
    CATEGORY = CATEGORY
    FUNCTION = "run"
    OUTPUT_NODE = True
    RETURN_TYPES = ("STRING",)
    RETURN_NAMES = ("report",)
    OUTPUT_TOOLTIPS = ("JSON with the tracking scores (the HOTA curve over the 19 thresholds included).",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "masks": I.custom(MASKS, "Tracked per-identity masks of the generated video (an empty mask = absent)."),
            "ground_truth_masks": I.custom(MASKS, "Ground-truth per-identity masks, same frames and size."),
            "filename_prefix": I.text("Report name in the output folder (a 5-digit counter and .json are added).",
                                      default="choreograph/tracking_metrics"),
        }}

    def run(self, masks, ground_truth_masks, filename_prefix: str = "choreograph/tracking_metrics"):
        frames = frames_from_masks(ground_truth_masks.masks > 0.5, list(ground_truth_masks.track_ids),
                                   masks.masks > 0.5, list(masks.track_ids))
        sections = {"tracking": tracking_metrics(frames)}
        text, entry = _save(sections, filename_prefix)
        return {"ui": {"text": [format_table(sections)], "reports": [entry]}, "result": (text,)}


NODE_CLASS_MAPPINGS = {
    "ChoreoIdentityQA": ChoreoIdentityQA,
    "ChoreoVideoMetrics": ChoreoVideoMetrics,
    "ChoreoPoseMetrics": ChoreoPoseMetrics,
    "ChoreoTrackingMetrics": ChoreoTrackingMetrics,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "ChoreoIdentityQA": "Identity Swap QA (Choreograph)",
    "ChoreoVideoMetrics": "Video Metrics (Choreograph)",
    "ChoreoPoseMetrics": "Pose & Tracking Metrics (Choreograph)",
    "ChoreoTrackingMetrics": "Mask Tracking Metrics (Choreograph)",
}
