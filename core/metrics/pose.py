"""Pose and interaction-coherence scores between generated and ground-truth poses (SPEC §6.3, DanceTogether track 2).

Both inputs are ``PoseSequence``s with the same canvas. People are paired by Hungarian matching on their mean
keypoint distance over the clip (the SPEC pairs by mask IoU; keypoints are what this track has). A keypoint counts where its confidence is
above 0.3 in both sequences. Sequences of different lengths are trimmed to the shorter one (the SPEC's temporal
alignment); the result says how many frames were scored.

Documented choices: MPJPE uses one isotropic scale + shift per person over the whole clip (rotation optional,
Umeyama); both the per-keypoint mean (``MPJPE``) and DT's per-person sum (``MPJPE_sum``) are reported. OKS and
PoseSSIM score the raw (unaligned) generated poses, because they measure placement on the canvas; OKS uses
pycocotools' ``κ = 2σ`` and, without GT mask areas, the area of the GT person's keypoint box.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..errors import InputError
from ..pose.sequence import PoseSequence
from .frechet import frechet_between
from .video import ssim

VALID_SCORE = 0.3
HEATMAP_SIGMA = 4.0

# COCO-WholeBody sigmas (jin-s13/COCO-WholeBody evaluation/myeval_wholebody.py), body, feet, face, hands.
_BODY_SIGMAS = (.026, .025, .025, .035, .035, .079, .079, .072, .072, .062, .062, .107, .107, .087, .087, .089, .089)
_FOOT_SIGMAS = (.068, .066, .066, .092, .094, .094)
_FACE_SIGMAS = (.042, .043, .044, .043, .040, .035, .031, .025, .020, .023, .029, .032, .037, .038, .043, .041, .045,
                .013, .012, .011, .011, .012, .012, .011, .011, .013, .015, .009, .007, .007, .007, .012, .009, .008,
                .016, .010, .017, .011, .009, .011, .009, .007, .013, .008, .011, .012, .010, .034, .008, .008, .009,
                .008, .008, .007, .010, .008, .009, .009, .009, .007, .007, .008, .011, .008, .008, .008, .010, .008)
_HAND_SIGMAS = (.029, .022, .035, .037, .047, .026, .025, .024, .035, .018, .024, .022, .026, .017, .021, .021, .032,
                .020, .019, .022, .031)
WHOLEBODY_SIGMAS = np.array(_BODY_SIGMAS + _FOOT_SIGMAS + _FACE_SIGMAS + _HAND_SIGMAS * 2)


def paired_arrays(generated: PoseSequence, ground_truth: PoseSequence
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """``(gen_xy, gt_xy, valid, gt_columns)`` of the paired people over the common frames.

    ``gen_xy``/``gt_xy`` are ``(T, P, 133, 2)``, ``valid`` ``(T, P, 133)``; ``gt_columns`` are the GT person
    columns in pairing order.
    """
    if (generated.width, generated.height) != (ground_truth.width, ground_truth.height):
        raise InputError("generated poses", f"canvas {generated.width}x{generated.height} differs from the ground "
                         f"truth's {ground_truth.width}x{ground_truth.height}", "rescale poses to the same canvas")
    frames = min(generated.num_frames, ground_truth.num_frames)
    if frames == 0:
        raise InputError("poses", "a sequence has no frames", "give at least one frame of poses")
    gen_kp, gt_kp = generated.keypoints[:frames], ground_truth.keypoints[:frames]
    gen_cols, gt_cols = pair_people(generated, ground_truth)
    gen_kp, gt_kp = gen_kp[:, gen_cols], gt_kp[:, gt_cols]
    valid = (gen_kp[..., 2] > VALID_SCORE) & (gt_kp[..., 2] > VALID_SCORE)
    return gen_kp[..., :2].astype(np.float64), gt_kp[..., :2].astype(np.float64), valid, gt_cols


def pair_people(generated: PoseSequence, ground_truth: PoseSequence) -> tuple[list[int], list[int]]:
    """Columns of generated and GT people that belong together: Hungarian matching on the mean distance of
    their co-visible keypoints over the clip (track ids of a generated video are arbitrary, so never used)."""
    frames = min(generated.num_frames, ground_truth.num_frames)
    gen, gt = generated.keypoints[:frames], ground_truth.keypoints[:frames]
    cost = np.full((gen.shape[1], gt.shape[1]), 1e12)
    for a in range(gen.shape[1]):
        for b in range(gt.shape[1]):
            both = (gen[:, a, :, 2] > VALID_SCORE) & (gt[:, b, :, 2] > VALID_SCORE)
            if both.any():
                cost[a, b] = np.linalg.norm(gen[:, a, :, :2] - gt[:, b, :, :2], axis=-1)[both].mean()
    rows, cols = linear_sum_assignment(cost)
    keep = cost[rows, cols] < 1e12
    if not keep.any():
        raise InputError("poses", "no generated person shares a confident keypoint with any ground-truth person",
                         "check that both pose sequences describe the same clip")
    return rows[keep].tolist(), cols[keep].tolist()


def align_similarity(source: np.ndarray, target: np.ndarray, rotation: bool = False) -> np.ndarray:
    """``source`` mapped by the least-squares scale (+ rotation) + shift onto ``target``; both ``(N, 2)``."""
    mu_s, mu_t = source.mean(0), target.mean(0)
    s0, t0 = source - mu_s, target - mu_t
    energy = float((s0**2).sum())
    if energy == 0:
        return np.broadcast_to(mu_t, source.shape).copy()
    if not rotation:
        return (s0 * float((s0 * t0).sum()) / energy) + mu_t
    u, singular, vt = np.linalg.svd(t0.T @ s0 / len(source))
    d = np.diag([1.0, np.sign(np.linalg.det(u @ vt))])
    rot = u @ d @ vt
    scale = float(np.trace(np.diag(singular) @ d)) / (energy / len(source))
    return scale * s0 @ rot.T + mu_t


def mpjpe(gen_xy: np.ndarray, gt_xy: np.ndarray, valid: np.ndarray, rotation: bool = False) -> dict[str, float]:
    """Mean per-keypoint error (pixels) after per-person alignment, and DT's per-person-summed variant."""
    errors = np.full(valid.shape, np.nan)
    for p in range(valid.shape[1]):
        mask = valid[:, p]
        if mask.any():
            aligned = align_similarity(gen_xy[:, p][mask], gt_xy[:, p][mask], rotation)
            errors[:, p][mask] = np.linalg.norm(aligned - gt_xy[:, p][mask], axis=-1)
    if not valid.any():
        return {"MPJPE": math.nan, "MPJPE_sum": math.nan}
    per_person = np.nansum(errors, axis=-1)[valid.any(axis=-1)]
    return {"MPJPE": float(np.nanmean(errors)), "MPJPE_sum": float(per_person.mean())}


def oks(gen_xy: np.ndarray, gt_xy: np.ndarray, valid: np.ndarray, areas: np.ndarray | None = None) -> float:
    """Mean over frames of the COCO object keypoint similarity of all valid keypoints (frames without any skipped)."""
    if areas is None:
        areas = _keypoint_box_areas(gt_xy, valid)
    kappa2 = (2 * WHOLEBODY_SIGMAS) ** 2
    d2 = ((gen_xy - gt_xy) ** 2).sum(-1)
    similarity = np.exp(-d2 / (2 * np.maximum(areas, 1.0)[..., None] * kappa2))
    per_frame = [similarity[t][valid[t]].mean() for t in range(len(valid)) if valid[t].any()]
    return float(np.mean(per_frame)) if per_frame else math.nan


def _keypoint_box_areas(xy: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``(T, P)`` areas of the boxes around each person's valid keypoints (0 where none)."""
    lo = np.where(valid[..., None], xy, np.inf).min(axis=2)
    hi = np.where(valid[..., None], xy, -np.inf).max(axis=2)
    extent = np.where(np.isfinite(hi - lo), hi - lo, 0.0)
    return extent[..., 0] * extent[..., 1]


def pose_heatmaps(xy: np.ndarray, valid: np.ndarray, height: int, width: int,
                  sigma: float = HEATMAP_SIGMA) -> np.ndarray:
    """``(T, H, W)``: per pixel the max over valid keypoints of a Gaussian bump (σ in pixels), in ``[0, 1]``."""
    maps = np.zeros((len(xy), height, width))
    radius = math.ceil(3 * sigma)
    for t, p, j in zip(*np.nonzero(valid)):
        x, y = xy[t, p, j]
        x0, x1 = max(0, int(x) - radius), min(width, int(x) + radius + 2)
        y0, y1 = max(0, int(y) - radius), min(height, int(y) + radius + 2)
        if x0 >= x1 or y0 >= y1:
            continue
        gx = np.exp(-((np.arange(x0, x1) - x) ** 2) / (2 * sigma**2))
        gy = np.exp(-((np.arange(y0, y1) - y) ** 2) / (2 * sigma**2))
        np.maximum(maps[t, y0:y1, x0:x1], gy[:, None] * gx[None, :], out=maps[t, y0:y1, x0:x1])
    return maps


def pose_ssim(gen_xy: np.ndarray, gt_xy: np.ndarray, valid: np.ndarray, height: int, width: int) -> float:
    """Mean over frames of the SSIM between Gaussian keypoint heatmaps (σ = 4 px) of both pose sets."""
    gen_maps = pose_heatmaps(gen_xy, valid, height, width)
    gt_maps = pose_heatmaps(gt_xy, valid, height, width)
    return ssim(gen_maps[..., None], gt_maps[..., None])


def _finite_difference(xy: np.ndarray, valid: np.ndarray, coefficients: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Finite differences along time and where all the frames they use are valid."""
    span = len(coefficients)
    frames = len(xy) - span + 1
    if frames <= 0:
        return np.zeros((0,) + xy.shape[1:]), np.zeros((0,) + valid.shape[1:], dtype=bool)
    value = sum(c * xy[k:k + frames] for k, c in enumerate(coefficients))
    ok = np.logical_and.reduce([valid[k:k + frames] for k in range(span)])
    return value, ok


def smooth_rms(xy: np.ndarray, valid: np.ndarray, fps: float) -> float:
    """RMS jerk (px/s³) of the generated trajectories; NaN for clips under 4 frames."""
    jerk, ok = _finite_difference(xy, valid, (-1.0, 3.0, -3.0, 1.0))
    if not ok.any():
        return math.nan
    return float(np.sqrt(((jerk * fps**3) ** 2).sum(-1)[ok].mean()))


def time_dyn_rmse(gen_xy: np.ndarray, gt_xy: np.ndarray, valid: np.ndarray, fps: float) -> float:
    """RMS difference (px/s²) of generated and GT accelerations; NaN for clips under 3 frames."""
    coefficients = (1.0, -2.0, 1.0)
    acc_gen, ok = _finite_difference(gen_xy, valid, coefficients)
    acc_gt, _ = _finite_difference(gt_xy, valid, coefficients)
    if not ok.any():
        return math.nan
    return float(np.sqrt((((acc_gen - acc_gt) * fps**2) ** 2).sum(-1)[ok].mean()))


def fvmd(gen_xy: np.ndarray, gt_xy: np.ndarray, valid: np.ndarray, fps: float) -> float:
    """DT's FVMD: Fréchet distance between 2-D Gaussians of keypoint velocities (px/s); NaN under 2 samples."""
    v_gen, ok = _finite_difference(gen_xy, valid, (-1.0, 1.0))
    v_gt, _ = _finite_difference(gt_xy, valid, (-1.0, 1.0))
    if ok.sum() < 2:
        return math.nan
    return frechet_between(v_gen[ok] * fps, v_gt[ok] * fps, "keypoint velocities")


def pose_metrics(generated: PoseSequence, ground_truth: PoseSequence, gt_areas: np.ndarray | None = None,
                 rotation: bool = False) -> dict[str, float]:
    """All track-2 scores for one clip (``frames`` and ``people`` say what was scored).

    SmoothRMS is computed on the generated poses alone but, like the others, only where the GT also sees the
    keypoint, so every score describes the same keypoints.
    """
    gen_xy, gt_xy, valid, gt_cols = paired_arrays(generated, ground_truth)
    if gt_areas is not None:
        gt_areas = np.asarray(gt_areas, dtype=np.float64)
        if gt_areas.shape != (ground_truth.num_frames, ground_truth.num_people):
            raise InputError("gt_areas", f"expected shape {(ground_truth.num_frames, ground_truth.num_people)}, "
                             f"got {gt_areas.shape}", "give one mask area per ground-truth frame and person")
        gt_areas = gt_areas[: len(valid)][:, gt_cols]
    fps = ground_truth.fps
    return {**mpjpe(gen_xy, gt_xy, valid, rotation), "OKS": oks(gen_xy, gt_xy, valid, gt_areas),
            "PoseSSIM": pose_ssim(gen_xy, gt_xy, valid, ground_truth.height, ground_truth.width),
            "SmoothRMS": smooth_rms(gen_xy, valid, fps), "TimeDynRMSE": time_dyn_rmse(gen_xy, gt_xy, valid, fps),
            "FVMD": fvmd(gen_xy, gt_xy, valid, fps), "frames": len(valid), "people": valid.shape[1]}
