"""Throughput of the whole CPU preprocessing chain: track → identity map → IEG skeletons → body masks →
28-channel binding slots, on a synthetic clip (issue 5's measure: ≥ 200 frames/s at 512² with 4 people on
2 cores). The native-interop colour-mask video is timed too, outside the chain total (our sampler reads the
28 channels, computed straight from the masks).

Run: ``python -m choreograph.core.conditioning.guidance_benchmark [--frames 81 --size 512 --people 4]``.
"""
from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from ..pose.detections import PoseFrames
from ..pose.track_benchmark import shuffled_detections
from ..pose.tracking import track_poses
from ..render.masks import masks_from_poses
from ..render.skeleton import SkeletonStyle, render_skeletons
from ..synth import SceneConfig, make_scene
from .binding_slots import colour_mask_video, driving_mask28_from_masks
from .identity import assign_identities

STAGES = ("track", "identity map", "IEG skeletons", "body masks", "28-ch slots")
EXTRA = ("colour-mask video",)


def _timed(times: dict[str, float], name: str, work: Callable):
    """Record wall seconds under ``name`` and CPU seconds of this process under ``"cpu " + name``; on a
    machine shared with other jobs the CPU time is the steadier of the two."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    times[name] = time.perf_counter() - wall
    times["cpu " + name] = time.process_time() - cpu
    return result


def _chain_once(seen: PoseFrames, size: int) -> dict[str, float]:
    times: dict[str, float] = {}
    poses = _timed(times, "track", lambda: track_poses(seen))
    identity = _timed(times, "identity map", lambda: assign_identities(poses))
    slots = identity.slots_for(poses)
    _timed(times, "IEG skeletons", lambda: render_skeletons(poses, slots, size, size, SkeletonStyle("ieg")))
    masks = _timed(times, "body masks", lambda: masks_from_poses(poses, size, size))
    _timed(times, "28-ch slots", lambda: driving_mask28_from_masks(masks, identity, poses, "animation"))
    _timed(times, "colour-mask video", lambda: colour_mask_video(masks, identity, poses, "animation"))
    return times


def run_chain(frames: int = 81, size: int = 512, people: int = 4, seed: int = 0, repeats: int = 1
              ) -> dict[str, float]:
    """Seconds per stage (and ``total``) on one clip, each stage's fastest of ``repeats`` passes; the clip and
    its detections are prepared outside the clock."""
    scene = make_scene(SceneConfig(characters=people, frames=frames, width=size, height=size,
                                   choreography="dance+cross", seed=seed))
    seen = shuffled_detections(scene.poses, np.random.default_rng(seed))
    return fastest([_chain_once(seen.frames, size) for _ in range(max(1, repeats))])


def report(times: dict[str, float], frames: int) -> str:
    """Frames per wall second and per CPU second of each stage and of the whole chain."""
    lines = [f"{'stage':<16}{'wall fps':>10}{'cpu fps':>10}"]
    for name in STAGES + ("total",) + EXTRA:
        wall, cpu = times[name], times["cpu " + name]
        lines.append(f"{name:<16}{frames / max(wall, 1e-9):>10.0f}{frames / max(cpu, 1e-9):>10.0f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=81)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--people", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5, help="report each stage's fastest of this many passes")
    args = parser.parse_args(argv)
    best = run_chain(args.frames, args.size, args.people, seed=0, repeats=args.repeats)
    print(f"{args.frames} frames, {args.size}x{args.size}, {args.people} people "
          f"(each stage's fastest of {args.repeats} runs)")
    print(report(best, args.frames))
    return 0


def fastest(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each stage's minimum over runs (the least disturbed measurement on a shared machine), totals summed."""
    best = {key: min(run[key] for run in runs) for key in runs[0] if "total" not in key}
    best["total"] = sum(best[s] for s in STAGES)
    best["cpu total"] = sum(best["cpu " + s] for s in STAGES)
    return best


if __name__ == "__main__":
    raise SystemExit(main())
