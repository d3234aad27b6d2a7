"""Multi-object tracking scores of generated videos: HOTA, CLEAR-MOT and identity measures (SPEC §6.1).

The three families follow the TrackEval conventions (JonathonLuiten/TrackEval) so numbers are comparable with
TogetherVideoBench's identity-consistency track: CLEAR-MOT and IDF1 match at similarity ≥ 0.5, HOTA averages
over α ∈ {0.05, …, 0.95}. Detections are boxes or masks; similarity is their IoU.

Treatment of degenerate input (documented, never silent): a ground truth with no detection at all is an
``InputError`` (every score would be undefined); an empty prediction is valid and scores 0 with every ground-truth
detection a miss.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..errors import InputError
from ..pose.boxes import box_iou
from ..pose.sequence import PoseSequence

EPS = np.finfo(float).eps
HOTA_ALPHAS = np.arange(0.05, 0.99, 0.05)
MATCH_THRESHOLD = 0.5


@dataclass(frozen=True)
class TrackedFrames:
    """Per frame: which ground-truth and predicted ids are present, and their pairwise similarity in ``[0, 1]``.

    Ids are re-indexed to ``0..n-1`` on construction (``gt_labels[k]`` is the user id behind index ``k``), so the
    scorers can use them as array indices.
    """

    gt_ids: tuple[np.ndarray, ...]
    pred_ids: tuple[np.ndarray, ...]
    similarity: tuple[np.ndarray, ...]
    gt_labels: tuple[int, ...]
    pred_labels: tuple[int, ...]

    @property
    def num_gt_dets(self) -> int:
        return int(sum(len(g) for g in self.gt_ids))

    @property
    def num_pred_dets(self) -> int:
        return int(sum(len(p) for p in self.pred_ids))


def tracked_frames(gt_ids: list, pred_ids: list, similarity: list) -> TrackedFrames:
    """Validate per-frame id lists and similarity matrices (``len(gt) × len(pred)``) into ``TrackedFrames``."""
    if not (len(gt_ids) == len(pred_ids) == len(similarity)):
        raise InputError("tracks", f"ground truth has {len(gt_ids)} frames, prediction {len(pred_ids)}, "
                         f"similarities {len(similarity)}", "give the same number of frames for all three")
    gt_labels = sorted({int(i) for frame in gt_ids for i in frame})
    pred_labels = sorted({int(i) for frame in pred_ids for i in frame})
    if not gt_labels:
        raise InputError("ground truth", "has no detection in any frame, so tracking scores are undefined",
                         "check the ground-truth masks/boxes (an empty mask means 'person absent')")
    gt_index = {label: k for k, label in enumerate(gt_labels)}
    pred_index = {label: k for k, label in enumerate(pred_labels)}
    gts, preds, sims = [], [], []
    for t, (g, p, s) in enumerate(zip(gt_ids, pred_ids, similarity)):
        g = np.array([gt_index[int(i)] for i in g], dtype=int)
        p = np.array([pred_index[int(i)] for i in p], dtype=int)
        s = np.asarray(s, dtype=float).reshape(len(g), len(p))
        if len(set(g.tolist())) != len(g) or len(set(p.tolist())) != len(p):
            raise InputError("tracks", f"frame {t} lists an id twice", "give each id at most once per frame")
        if np.any(~np.isfinite(s)) or np.any(s < -EPS) or np.any(s > 1 + 1e-6):
            raise InputError("tracks", f"frame {t} has similarities outside [0, 1]", "use IoU-like similarities")
        gts.append(g), preds.append(p), sims.append(s)
    return TrackedFrames(tuple(gts), tuple(preds), tuple(sims), tuple(gt_labels), tuple(pred_labels))


def mask_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix of boolean masks ``(n, H, W)`` × ``(m, H, W)``."""
    a = np.asarray(a, dtype=bool).reshape(len(a), -1).astype(np.float64)
    b = np.asarray(b, dtype=bool).reshape(len(b), -1).astype(np.float64)
    inter = a @ b.T
    union = a.sum(1)[:, None] + b.sum(1)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, EPS), 0.0)


def boxes_from_masks(masks: np.ndarray) -> np.ndarray:
    """Tight ``x0, y0, x1, y1`` boxes (exclusive max) of masks ``(..., H, W)``; NaN rows where a mask is empty."""
    masks = np.asarray(masks, dtype=bool)
    rows, cols = masks.any(axis=-1), masks.any(axis=-2)
    out = np.full(masks.shape[:-2] + (4,), np.nan)
    present = rows.any(axis=-1)
    y0 = np.argmax(rows, axis=-1)
    y1 = rows.shape[-1] - np.argmax(rows[..., ::-1], axis=-1)
    x0 = np.argmax(cols, axis=-1)
    x1 = cols.shape[-1] - np.argmax(cols[..., ::-1], axis=-1)
    out[present] = np.stack([x0, y0, x1, y1], axis=-1)[present]
    return out


def frames_from_masks(gt_masks: np.ndarray, gt_ids: list[int], pred_masks: np.ndarray,
                      pred_ids: list[int]) -> TrackedFrames:
    """Tracks from per-identity masks ``(T, P, H, W)``; an all-zero mask means the person is absent there."""
    gt_masks, pred_masks = np.asarray(gt_masks, dtype=bool), np.asarray(pred_masks, dtype=bool)
    _check_stack("ground-truth masks", gt_masks, gt_ids, 4)
    _check_stack("predicted masks", pred_masks, pred_ids, 4)
    _check_same_frames(gt_masks.shape, pred_masks.shape, spatial=True)
    g_present = gt_masks.any(axis=(2, 3))
    p_present = pred_masks.any(axis=(2, 3))
    ids_g, ids_p, sims = [], [], []
    for t in range(len(gt_masks)):
        ids_g.append(np.asarray(gt_ids)[g_present[t]])
        ids_p.append(np.asarray(pred_ids)[p_present[t]])
        sims.append(mask_iou(gt_masks[t][g_present[t]], pred_masks[t][p_present[t]]))
    return tracked_frames(ids_g, ids_p, sims)


def frames_from_boxes(gt_boxes: np.ndarray, gt_ids: list[int], pred_boxes: np.ndarray,
                      pred_ids: list[int]) -> TrackedFrames:
    """Tracks from per-identity boxes ``(T, P, 4)`` (``x0, y0, x1, y1``); a NaN row means absent there."""
    gt_boxes, pred_boxes = np.asarray(gt_boxes, dtype=float), np.asarray(pred_boxes, dtype=float)
    _check_stack("ground-truth boxes", gt_boxes, gt_ids, 3)
    _check_stack("predicted boxes", pred_boxes, pred_ids, 3)
    _check_same_frames(gt_boxes.shape, pred_boxes.shape, spatial=False)
    g_present = ~np.isnan(gt_boxes).any(axis=2)
    p_present = ~np.isnan(pred_boxes).any(axis=2)
    ids_g, ids_p, sims = [], [], []
    for t in range(len(gt_boxes)):
        ids_g.append(np.asarray(gt_ids)[g_present[t]])
        ids_p.append(np.asarray(pred_ids)[p_present[t]])
        sims.append(box_iou(gt_boxes[t][g_present[t]], pred_boxes[t][p_present[t]]))
    return tracked_frames(ids_g, ids_p, sims)


def boxes_from_poses(poses: PoseSequence, min_score: float = 0.3) -> np.ndarray:
    """``(T, P, 4)`` boxes around each person's keypoints above ``min_score``; NaN rows where none is."""
    seen = poses.keypoints[..., 2] > min_score
    xy = poses.keypoints[..., :2].astype(np.float64)
    lo = np.where(seen[..., None], xy, np.inf).min(axis=2)
    hi = np.where(seen[..., None], xy, -np.inf).max(axis=2)
    boxes = np.concatenate([lo, hi], axis=-1)
    boxes[~seen.any(axis=2)] = np.nan
    return boxes


def frames_from_poses(ground_truth: PoseSequence, predicted: PoseSequence, min_score: float = 0.3) -> TrackedFrames:
    """Tracks from two tracked pose sequences, people as the boxes around their confident keypoints."""
    if (ground_truth.width, ground_truth.height) != (predicted.width, predicted.height):
        raise InputError("poses", f"ground-truth canvas {ground_truth.width}x{ground_truth.height} differs from "
                         f"the prediction's {predicted.width}x{predicted.height}", "rescale poses to one canvas")
    return frames_from_boxes(boxes_from_poses(ground_truth, min_score), list(ground_truth.track_ids),
                             boxes_from_poses(predicted, min_score), list(predicted.track_ids))


def _check_stack(name: str, array: np.ndarray, ids: list[int], ndim: int) -> None:
    if array.ndim != ndim:
        raise InputError(name, f"expected {ndim} dimensions (frames, people, ...), got shape {array.shape}",
                         "stack one entry per frame and person")
    if len(ids) != array.shape[1] or len(set(ids)) != len(ids):
        raise InputError(name, f"{len(ids)} ids {list(ids)} for {array.shape[1]} people",
                         "give one unique id per person column")


def _check_same_frames(a: tuple[int, ...], b: tuple[int, ...], spatial: bool) -> None:
    if a[0] != b[0]:
        raise InputError("tracks", f"ground truth has {a[0]} frames but the prediction has {b[0]}",
                         "trim both to the same frames")
    if spatial and a[2:] != b[2:]:
        raise InputError("tracks", f"ground-truth masks are {a[2:]} but predicted masks are {b[2:]}",
                         "resize the masks to the same size")


def clear_mot(frames: TrackedFrames, threshold: float = MATCH_THRESHOLD) -> dict[str, float]:
    """CLEAR-MOT: per-frame Hungarian matching that keeps last frame's pairs when still similar enough."""
    n_gt = len(frames.gt_labels)
    last_pred = np.full(n_gt, -1)  # last matched prediction of each gt id, ever
    prev_frame_pred = np.full(n_gt, -1)  # its match in the previous frame only (-1: unmatched there)
    seen, matched_frames, fragments = np.zeros(n_gt), np.zeros(n_gt), np.zeros(n_gt)
    tp = fn = fp = switches = 0
    iou_sum = 0.0
    for g, p, sim in zip(frames.gt_ids, frames.pred_ids, frames.similarity):
        seen[g] += 1
        if len(g) == 0 or len(p) == 0:  # an empty frame does not break continuity (TrackEval convention)
            fn, fp = fn + len(g), fp + len(p)
            continue
        rows, cols = _continuity_matches(g, p, sim, prev_frame_pred, threshold)
        mg, mp = g[rows], p[cols]
        switches += int(np.sum((last_pred[mg] >= 0) & (last_pred[mg] != mp)))
        matched_frames[mg] += 1
        newly_tracked = np.zeros(n_gt, dtype=bool)
        newly_tracked[mg] = prev_frame_pred[mg] < 0
        fragments += newly_tracked
        last_pred[mg] = mp
        prev_frame_pred[:] = -1
        prev_frame_pred[mg] = mp
        tp, fn, fp = tp + len(rows), fn + len(g) - len(rows), fp + len(p) - len(rows)
        iou_sum += float(sim[rows, cols].sum())
    ratio = matched_frames[seen > 0] / seen[seen > 0]
    mostly = int(np.sum(ratio > 0.8))
    partly = int(np.sum(ratio >= 0.2)) - mostly
    return {"MOTA": (tp - fp - switches) / max(1, tp + fn), "MOTP": iou_sum / max(1, tp),
            "MODA": (tp - fp) / max(1, tp + fn), "CLR_TP": tp, "CLR_FN": fn, "CLR_FP": fp, "IDSW": switches,
            "MT": mostly, "PT": partly, "ML": n_gt - mostly - partly, "Frag": int(np.sum(np.maximum(fragments - 1, 0)))}


def _continuity_matches(g: np.ndarray, p: np.ndarray, sim: np.ndarray, prev_frame_pred: np.ndarray,
                        threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Hungarian matching at ``sim ≥ threshold`` that prefers the pairs matched in the previous frame."""
    keeps_pair = p[None, :] == prev_frame_pred[g][:, None]
    score = 1000.0 * keeps_pair + sim
    score[sim < threshold - EPS] = 0.0
    rows, cols = linear_sum_assignment(-score)
    ok = score[rows, cols] > EPS
    return rows[ok], cols[ok]


def identity_scores(frames: TrackedFrames, threshold: float = MATCH_THRESHOLD) -> dict[str, float]:
    """IDF1/IDP/IDR: one global one-to-one matching of whole trajectories maximising co-detected frames."""
    overlap = np.zeros((len(frames.gt_labels), max(1, len(frames.pred_labels))))
    for g, p, sim in zip(frames.gt_ids, frames.pred_ids, frames.similarity):
        rows, cols = np.nonzero(sim >= threshold - EPS)
        np.add.at(overlap, (g[rows], p[cols]), 1)
    rows, cols = linear_sum_assignment(-overlap)
    idtp = float(overlap[rows, cols].sum())
    idfn, idfp = frames.num_gt_dets - idtp, frames.num_pred_dets - idtp
    return {"IDF1": idtp / max(1.0, idtp + 0.5 * idfp + 0.5 * idfn), "IDP": idtp / max(1.0, idtp + idfp),
            "IDR": idtp / max(1.0, idtp + idfn), "IDTP": idtp, "IDFN": idfn, "IDFP": idfp}


def hota(frames: TrackedFrames) -> dict[str, float]:
    """HOTA, DetA, AssA, LocA (means over the 19 α) plus the per-α HOTA curve (``HOTA_alpha``)."""
    n_a = len(HOTA_ALPHAS)
    if frames.num_pred_dets == 0:
        zero = 0.0
        return {"HOTA": zero, "DetA": zero, "AssA": zero, "LocA": 1.0, "HOTA_alpha": [0.0] * n_a}
    gt_count, pred_count, alignment = _global_alignment(frames)
    matches = np.zeros((n_a,) + alignment.shape)
    tp, fn, fp, loc = np.zeros(n_a), np.zeros(n_a), np.zeros(n_a), np.zeros(n_a)
    for g, p, sim in zip(frames.gt_ids, frames.pred_ids, frames.similarity):
        if len(g) == 0 or len(p) == 0:
            fn, fp = fn + len(g), fp + len(p)
            continue
        rows, cols = linear_sum_assignment(-(alignment[g][:, p] * sim))
        for a, alpha in enumerate(HOTA_ALPHAS):
            keep = sim[rows, cols] >= alpha - EPS
            r, c = rows[keep], cols[keep]
            tp[a], fn[a], fp[a] = tp[a] + len(r), fn[a] + len(g) - len(r), fp[a] + len(p) - len(r)
            loc[a] += sim[r, c].sum()
            matches[a, g[r], p[c]] += 1
    union = gt_count[:, None] + pred_count[None, :] - matches
    ass_a = np.sum(matches * matches / np.maximum(1, union), axis=(1, 2)) / np.maximum(1, tp)
    det_a = tp / np.maximum(1, tp + fn + fp)
    loc_a = np.maximum(1e-10, loc) / np.maximum(1e-10, tp)
    curve = np.sqrt(det_a * ass_a)
    return {"HOTA": float(curve.mean()), "DetA": float(det_a.mean()), "AssA": float(ass_a.mean()),
            "LocA": float(loc_a.mean()), "HOTA_alpha": curve.tolist()}


def _global_alignment(frames: TrackedFrames) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per (gt id, pred id): how strongly they co-occur over the whole clip (HOTA's association prior)."""
    n_g, n_p = len(frames.gt_labels), len(frames.pred_labels)
    potential, gt_count, pred_count = np.zeros((n_g, n_p)), np.zeros(n_g), np.zeros(n_p)
    for g, p, sim in zip(frames.gt_ids, frames.pred_ids, frames.similarity):
        denom = sim.sum(0)[None, :] + sim.sum(1)[:, None] - sim
        normalised = np.where(denom > EPS, sim / np.maximum(denom, EPS), 0.0)
        potential[np.ix_(g, p)] += normalised
        gt_count[g] += 1
        pred_count[p] += 1
    alignment = potential / (gt_count[:, None] + pred_count[None, :] - potential)
    return gt_count, pred_count, alignment


def tracking_metrics(frames: TrackedFrames) -> dict[str, float]:
    """All three families in one dict (the ``HOTA_alpha`` curve included)."""
    return {**hota(frames), **clear_mot(frames), **identity_scores(frames)}
