"""How well identities survive swaps, crossings, occlusion and exits: our tracker against the left-to-right
re-sorting that comfyui_controlnet_aux does, on synthetic scenes with exact ground truth (issue 4's measure).

Detections are the scene's visible keypoints, jittered, with some people missed, shuffled within each frame, so
the tracker sees what a real extractor gives it. Scores follow TrackEval conventions (`core.metrics.tracking`):
IDF1 and identity switches, with a detection linked to its own ground truth (similarity 1, else 0). Tracking
speed is frames per CPU second (median over repeats, one thread) with the wall-clock rate and the spread beside it.

Run: ``python -m choreograph.benchmarks.tracking`` (or ``python -m choreograph track --benchmark``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..core.metrics.tracking import clear_mot, identity_scores, tracked_frames
from ..core.pose.detections import PoseFrames
from ..core.pose.sequence import PoseSequence
from ..core.pose.tracking import TrackerConfig, assign_track_ids
from ..core.synth import SceneConfig, make_scene
from .timing import CPU, WALL, measure, one_thread

DEFAULT_SCENES = (("dance+swap", 3), ("dance+cross", 4), ("dance+exit", 3), ("circle", 5),
                  ("dance+swap+cross+exit", 6))


@dataclass(frozen=True)
class ShuffledDetections:
    """A scene seen as an extractor would: ``frames`` in shuffled order, ``truth[t]`` the identity of each."""

    frames: PoseFrames
    truth: list[np.ndarray]


def shuffled_detections(poses: PoseSequence, rng: np.random.Generator, jitter_px: float = 1.0,
                        miss_rate: float = 0.03) -> ShuffledDetections:
    """Per frame, the people with a visible point, jittered by ``jitter_px`` (Gaussian), each missed with
    probability ``miss_rate``, in random order."""
    people, truth = [], []
    present = poses.present(0.0)
    for t in range(poses.num_frames):
        cols = [p for p in np.flatnonzero(present[t]) if rng.random() >= miss_rate]
        cols = [cols[i] for i in rng.permutation(len(cols))]
        kp = poses.keypoints[t, cols].copy()
        kp[..., :2] += rng.normal(0.0, jitter_px, kp[..., :2].shape) * (kp[..., 2:] > 0)
        people.append(kp)
        truth.append(np.array([poses.track_ids[c] for c in cols], dtype=np.int64))
    return ShuffledDetections(PoseFrames(tuple(people), poses.width, poses.height, poses.fps), truth)


def left_to_right_ids(frames: PoseFrames) -> list[np.ndarray]:
    """The baseline: each frame's people ranked by mean x of their visible points, the rank used as the id."""
    out = []
    for people in frames.people:
        seen = people[..., 2] > 0
        mean_x = (people[..., 0] * seen).sum(axis=1) / np.maximum(seen.sum(axis=1), 1)
        ranks = np.empty(len(people), dtype=np.int64)
        ranks[np.argsort(mean_x, kind="stable")] = np.arange(len(people))
        out.append(ranks)
    return out


def identity_metrics(truth: list[np.ndarray], predicted: list[np.ndarray]) -> dict[str, float]:
    """IDF1 and identity switches of ``predicted`` ids for the same detections as ``truth``."""
    similarity = [np.eye(len(t)) for t in truth]
    frames = tracked_frames(truth, predicted, similarity)
    return {"IDF1": identity_scores(frames)["IDF1"], "IDSW": clear_mot(frames)["IDSW"]}


def benchmark_scene(config: SceneConfig, seed: int = 0, use_frames: bool = True,
                    tracker: TrackerConfig | None = None, repeats: int = 3) -> dict[str, float]:
    """Scores of our tracker and of the left-to-right baseline on one synthetic scene, and tracking speed:
    frames per CPU second and per wall second at the median of ``repeats`` runs, and the CPU-time spread."""
    scene = make_scene(config)
    seen = shuffled_detections(scene.poses, np.random.default_rng(seed))
    pixels = scene.frames if use_frames else None
    ours = assign_track_ids(seen.frames, pixels, tracker or TrackerConfig())
    timing = measure("track", lambda: assign_track_ids(seen.frames, pixels, tracker or TrackerConfig()),
                     repeats=repeats, warmup=0)
    row = {f"ours_{k}": v for k, v in identity_metrics(seen.truth, ours).items()}
    row.update({f"l2r_{k}": v for k, v in identity_metrics(seen.truth, left_to_right_ids(seen.frames)).items()})
    row["fps"] = config.frames / max(timing.stats(CPU)[1], 1e-9)
    row["wall_fps"] = config.frames / max(timing.stats(WALL)[1], 1e-9)
    row["spread"] = timing.spread(CPU)
    return row


def run_benchmark(scenes: tuple[tuple[str, int], ...] = DEFAULT_SCENES, frames: int = 96, size: int = 256,
                  seeds: tuple[int, ...] = (0, 1), use_frames: bool = True, repeats: int = 3) -> list[dict]:
    """One row per (choreography, characters, seed)."""
    one_thread()
    rows = []
    for choreography, characters in scenes:
        for seed in seeds:
            config = SceneConfig(characters=characters, frames=frames, width=size, height=size,
                                 choreography=choreography, seed=seed)
            rows.append({"scene": choreography, "people": characters, "seed": seed,
                         **benchmark_scene(config, seed, use_frames, repeats=repeats)})
    return rows


def format_table(rows: list[dict]) -> str:
    """A plain-text table of benchmark rows with a mean line (fps: frames per CPU second, median of repeats)."""
    head = (f"{'scene':<24}{'people':>7}{'seed':>5}{'ours IDF1':>11}{'IDsw':>6}{'L→R IDF1':>10}{'IDsw':>6}"
            f"{'cpu fps':>9}{'wall fps':>9}{'spread':>8}")
    lines = [head]
    for r in rows:
        lines.append(f"{r['scene']:<24}{r['people']:>7}{r['seed']:>5}{r['ours_IDF1']:>11.3f}{r['ours_IDSW']:>6}"
                     f"{r['l2r_IDF1']:>10.3f}{r['l2r_IDSW']:>6}{r['fps']:>9.0f}{r['wall_fps']:>9.0f}"
                     f"{100 * r['spread']:>7.0f}%")
    mean = {k: float(np.mean([r[k] for r in rows])) for k in ("ours_IDF1", "l2r_IDF1", "fps", "wall_fps")}
    total = {k: int(sum(r[k] for r in rows)) for k in ("ours_IDSW", "l2r_IDSW")}
    lines.append(f"{'mean / total':<36}{mean['ours_IDF1']:>11.3f}{total['ours_IDSW']:>6}"
                 f"{mean['l2r_IDF1']:>10.3f}{total['l2r_IDSW']:>6}{mean['fps']:>9.0f}{mean['wall_fps']:>9.0f}")
    lines.append(f"fps spread over scenes: {min(r['fps'] for r in rows):.0f} .. {max(r['fps'] for r in rows):.0f} "
                 f"frames per CPU second, {torch.get_num_threads()} thread(s)")
    return "\n".join(lines)


def main() -> int:
    print(format_table(run_benchmark()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
