"""Throughput of the whole CPU preprocessing chain: track → identity map → IEG skeletons → body masks →
28-channel binding slots, on a synthetic clip (issue 5's measure: ≥ 200 frames/s at 512² with 4 people on
2 cores). The native-interop colour-mask video is timed too, outside the chain total (our sampler reads the
28 channels, computed straight from the masks).

Each stage reports CPU and wall time over ``--repeats`` passes (min / median / max, one thread); the clip and
its detections are prepared outside the clock. The verdict on the 200 frames/s goal is given only when every
pass's CPU time agrees on it.

Memory (``--memory``): tracemalloc peaks (exact; unaffected by other processes) of the body-mask → 28-channel
part of the chain against frames (81 → 321) and people (1 → 6), for the whole-clip path (every person's mask
for every frame, as the mask nodes output them) and the path streamed from poses (``driving_mask28_from_poses``),
whose peak stays flat.

Run: ``python -m choreograph.benchmarks.guidance_chain [--frames 81 --size 512 --people 4 --repeats 5]``.
"""
from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from ..core.conditioning.binding_slots import (
    colour_mask_video,
    driving_mask28_from_masks,
    driving_mask28_from_poses,
)
from ..core.conditioning.identity import assign_identities
from ..core.pose.detections import PoseFrames
from ..core.pose.sequence import PoseSequence
from ..core.pose.tracking import track_poses
from ..core.render.masks import masks_from_poses
from ..core.render.skeleton import SkeletonStyle, render_skeletons
from ..core.synth import SceneConfig, make_scene
from .timing import CPU, WALL, Samples, mib, one_thread, traced_peak
from .tracking import shuffled_detections

STAGES = ("track", "identity map", "IEG skeletons", "body masks", "28-ch slots")
EXTRA = ("colour-mask video", "28-ch from poses")
GOAL_FPS = 200.0


def _clock(times: dict[str, tuple[float, float]], name: str, work: Callable):
    """Record (CPU, wall) seconds of ``work`` under ``name``."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    times[name] = (time.process_time() - cpu, time.perf_counter() - wall)
    return result


def _chain_once(seen: PoseFrames, size: int) -> dict[str, tuple[float, float]]:
    times: dict[str, tuple[float, float]] = {}
    poses = _clock(times, "track", lambda: track_poses(seen))
    identity = _clock(times, "identity map", lambda: assign_identities(poses))
    slots = identity.slots_for(poses)
    _clock(times, "IEG skeletons", lambda: render_skeletons(poses, slots, size, size, SkeletonStyle("ieg")))
    masks = _clock(times, "body masks", lambda: masks_from_poses(poses, size, size))
    _clock(times, "28-ch slots", lambda: driving_mask28_from_masks(masks, identity, poses, "animation"))
    _clock(times, "colour-mask video", lambda: colour_mask_video(masks, identity, poses, "animation"))
    _clock(times, "28-ch from poses", lambda: driving_mask28_from_poses(poses, identity, size, size, "animation"))
    times["total"] = tuple(sum(times[s][i] for s in STAGES) for i in (0, 1))  # type: ignore[assignment]
    return times


def clip_detections(frames: int, size: int, people: int, seed: int = 0) -> PoseFrames:
    """A synthetic dance clip seen as shuffled, jittered detections (the chain's input)."""
    scene = make_scene(SceneConfig(characters=people, frames=frames, width=size, height=size,
                                   choreography="dance+cross", seed=seed))
    return shuffled_detections(scene.poses, np.random.default_rng(seed)).frames


def run_chain(frames: int = 81, size: int = 512, people: int = 4, seed: int = 0, repeats: int = 5
              ) -> dict[str, Samples]:
    """Per stage (and ``total``): CPU and wall seconds of each of ``repeats`` passes, after one warm-up pass."""
    threads = one_thread()
    seen = clip_detections(frames, size, people, seed)
    _chain_once(seen, size)
    runs = [_chain_once(seen, size) for _ in range(max(1, repeats))]
    return {name: Samples(name, tuple(r[name][0] for r in runs), tuple(r[name][1] for r in runs), threads)
            for name in runs[0]}


def goal_verdict(total: Samples, frames: int, goal_fps: float = GOAL_FPS) -> str:
    """"meets"/"misses" when every pass's CPU rate is on the same side of ``goal_fps``, else "no verdict"."""
    rates = [frames / max(s, 1e-12) for s in total.seconds(CPU)]
    if len(rates) >= 3 and min(rates) >= goal_fps:
        return "meets"
    if len(rates) >= 3 and max(rates) < goal_fps:
        return "misses"
    return "no verdict"


def report(times: dict[str, Samples], frames: int) -> str:
    """Frames per CPU and per wall second (at the median, with the range over passes) of each stage."""
    lines = [f"{'stage':<18}{'cpu fps (median, min..max)':>30}{'wall fps (median, min..max)':>31}{'spread':>8}"]
    for name in STAGES + ("total",) + EXTRA:
        cells = []
        for clock in (CPU, WALL):
            low, mid, high = times[name].stats(clock)
            cells.append(f"{frames / max(mid, 1e-12):>10.0f} ({frames / max(high, 1e-12):.0f}..{frames / max(low, 1e-12):.0f})")
        lines.append(f"{name:<18}{cells[0]:>30}{cells[1]:>31}{100 * times[name].spread(CPU):>7.0f}%")
    return "\n".join(lines)


MEMORY_FRAMES = (81, 161, 321)
MEMORY_PEOPLE = (1, 3, 6)


def _dance_poses(frames: int, people: int, size: int) -> PoseSequence:
    """Tracked poses of a synthetic dance, drawn small (pixels are not needed) and rescaled to ``size``."""
    small = 64
    poses = make_scene(SceneConfig(characters=people, frames=frames, width=small, height=small,
                                   choreography="dance", seed=0)).poses
    kp = poses.keypoints.copy()
    kp[..., :2] *= size / small
    return PoseSequence(kp, poses.track_ids, size, size, poses.fps, poses.depth)


def memory_rows(size: int = 512, frames: tuple[int, ...] = MEMORY_FRAMES, people: tuple[int, ...] = MEMORY_PEOPLE,
                base_people: int = 4, base_frames: int = 81) -> list[dict]:
    """Peak bytes of body masks → 28 channels, whole clip and streamed, per (frames, people) setting."""
    settings = [(f, base_people) for f in frames] + [(base_frames, p) for p in people if p != base_people]
    rows = []
    for count, cast in settings:
        poses = _dance_poses(count, cast, size)
        identity = assign_identities(poses)

        def whole(poses=poses, identity=identity):
            masks = masks_from_poses(poses, size, size)
            return driving_mask28_from_masks(masks, identity, poses, "animation"), masks.masks.nbytes

        def streamed(poses=poses, identity=identity):
            return driving_mask28_from_poses(poses, identity, size, size, "animation")

        whole_peak, (_, mask_bytes) = traced_peak(whole)
        streamed_peak, _ = traced_peak(streamed)
        pooled = count * 7 * (size // 16) ** 2 * 4  # the (T, 7, h, w) float32 coverage the 28 channels fold
        rows.append({"frames": count, "people": cast, "whole": whole_peak, "masks": mask_bytes,
                     "streamed": streamed_peak, "pooled": pooled})
    return rows


def memory_report(rows: list[dict], size: int) -> str:
    lines = [f"peak memory, body masks -> 28-ch slots at {size}x{size} (tracemalloc):",
             (f"{'frames':>7}{'people':>7}{'whole clip':>13}{'(masks alone)':>15}{'streamed':>12}"
              f"{'streamed - output':>19}")]
    for r in rows:
        lines.append(f"{r['frames']:>7}{r['people']:>7}{mib(r['whole']):>13}{mib(r['masks']):>15}"
                     f"{mib(r['streamed']):>12}{mib(r['streamed'] - r['pooled']):>19}")
    working = [r["streamed"] - r["pooled"] for r in rows]
    lines.append(f"streamed working memory (peak minus the pooled output): {mib(min(working))} .. "
                 f"{mib(max(working))} ({max(working) / max(min(working), 1):.2f}x) over {len(rows)} settings")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=81)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--people", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5, help="measured passes (after one warm-up pass)")
    parser.add_argument("--memory", action="store_true",
                        help="also report peak memory against frames (81/161/321) and people (1/3/6)")
    args = parser.parse_args(argv)
    threads = one_thread()
    times = run_chain(args.frames, args.size, args.people, seed=0, repeats=args.repeats)
    print(f"{args.frames} frames, {args.size}x{args.size}, {args.people} people; {args.repeats} passes, "
          f"{threads} thread(s)")
    print(report(times, args.frames))
    print(f"goal >= {GOAL_FPS:.0f} frames per CPU second for the chain: {goal_verdict(times['total'], args.frames)}")
    if args.memory:
        print(memory_report(memory_rows(args.size), args.size))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
