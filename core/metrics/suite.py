"""One call per evaluation track, returning ``{section: {metric: value}}`` for reports, tables and nodes.

Optional networks (LPIPS, FID, FVD) are scored only when the caller passes them; a score that the input cannot
support (FVD needs at least two 16-frame clips per side, FID two frames) is NaN with the reason in ``notes``
rather than a failure of the whole evaluation.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import InputError
from ..pose.sequence import PoseSequence
from ..progress import Progress, no_progress
from .identity import Embedder, colour_texture_embedding
from .lpips import LPIPS, lpips_video
from .networks import FVD_CLIP_FRAMES, I3D_SPEC, INCEPTION_SPEC, FeatureNet, fid, fvd
from .pose import pose_metrics
from .qa import DEFAULT_DRIFT_DROP, DEFAULT_WINDOW, QAReport, identity_qa, regions_from_poses
from .tracking import frames_from_poses, tracking_metrics
from .video import as_video, check_same_geometry, video_quality


def evaluate_videos(generated, reference, person_masks=None, lpips: LPIPS | None = None,
                    fid_network: FeatureNet | None = None, fvd_network: FeatureNet | None = None) -> dict[str, dict]:
    """Video-quality track (SPEC §6.4) for one generated/ground-truth pair of ``(T, H, W, 3)`` videos in [0, 1]."""
    gen, ref = as_video(generated, "generated"), as_video(reference, "reference")
    check_same_geometry(gen, ref)
    scores: dict = dict(video_quality(gen, ref, person_masks))
    gen, ref = gen.astype(np.float32), ref.astype(np.float32)
    notes: list[str] = []
    if lpips is not None:
        scores["LPIPS"] = lpips_video(lpips, gen, ref)
    if fid_network is not None:
        scores["FID"] = _optional(lambda: fid(gen, ref, fid_network, INCEPTION_SPEC), "FID", notes)
    if fvd_network is not None:
        scores["FVD"] = _fvd_or_nan(gen, ref, fvd_network, notes)
    scores["frames"] = int(gen.shape[0])
    return {"video": scores, **({"notes": {"video": notes}} if notes else {})}


def _optional(compute, name: str, notes: list[str]) -> float:
    try:
        return float(compute())
    except InputError as exc:
        notes.append(f"{name} not computed: {exc}")
        return math.nan


def _fvd_or_nan(gen, ref, network: FeatureNet, notes: list[str]) -> float:
    clips = len(gen) // FVD_CLIP_FRAMES
    if clips < 2:
        notes.append(f"FVD not computed: it needs at least 2 non-overlapping {FVD_CLIP_FRAMES}-frame clips per "
                     f"side, these videos have {clips}; evaluate a set of videos with fvd() instead")
        return math.nan
    return _optional(lambda: fvd([gen], [ref], network, I3D_SPEC), "FVD", notes)


def evaluate_poses(generated: PoseSequence, ground_truth: PoseSequence, gt_areas: np.ndarray | None = None,
                   trim: bool = False) -> dict[str, dict]:
    """Identity-consistency (tracking, SPEC §6.1) and interaction-coherence (pose, §6.3) tracks from tracked poses.

    Pose files of different lengths are refused (scoring only the shorter would hide the rest) unless ``trim``."""
    frames = min(generated.num_frames, ground_truth.num_frames)
    if generated.num_frames != ground_truth.num_frames:
        if not trim:
            raise InputError("poses", f"the generated poses have {generated.num_frames} frames but the ground "
                             f"truth has {ground_truth.num_frames}", "give poses of the same clip (headless eval: "
                             "--trim scores only the common frames)")
        generated, ground_truth = generated.frames(0, frames), ground_truth.frames(0, frames)
        gt_areas = None if gt_areas is None else np.asarray(gt_areas)[:frames]
    tracking = tracking_metrics(frames_from_poses(ground_truth.frames(0, frames), generated.frames(0, frames)))
    return {"tracking": tracking, "pose": pose_metrics(generated, ground_truth, gt_areas)}


def identity_check(video: np.ndarray, poses: PoseSequence, characters, window: int = DEFAULT_WINDOW,
                   drift_drop: float = DEFAULT_DRIFT_DROP, progress: Progress = no_progress,
                   embedder: Embedder = colour_texture_embedding) -> tuple[QAReport, np.ndarray]:
    """Identity QA (and IC accuracy) of a generated ``(T, H, W, 3)`` video against its character slots.

    ``characters`` is a ``CharacterSet``: only its tracks are judged, each against every character's crop, in
    the regions drawn from the driving ``poses``. Returns the report and those ``(T, P, H, W)`` regions.
    """
    tracks = [t for t in characters.track_ids if t in poses.track_ids]
    if not tracks:
        raise InputError("characters", f"none of the characters' tracks {characters.track_ids} is in the poses "
                         f"(tracks {poses.track_ids})", "connect the poses the characters were built from")
    regions = regions_from_poses(poses.select(tracks), *np.asarray(video).shape[:3])
    chars = [characters.by_track(t) for t in tracks]
    report = identity_qa(video, regions, tracks, [c.crop for c in chars], [c.mask for c in chars], tracks,
                         window, drift_drop, embedder, progress=progress)
    return report, regions
