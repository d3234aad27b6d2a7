"""`python -m choreograph track`: persistent identities for the people of a POSE_KEYPOINT / OpenPose JSON file."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ...core.errors import InputError
from ...core.pose.detections import PoseFrames
from ...core.pose.pose_keypoint import load_pose_json, save_json, with_track_ids
from ...core.pose.tracking import TrackerConfig, assign_track_ids

HELP = "add persistent track ids to POSE_KEYPOINT / OpenPose JSON poses (or --benchmark the tracker)"


def add_tracking_arguments(parser: argparse.ArgumentParser) -> None:
    """Tracker options shared with the `pose` command."""
    parser.add_argument("--max-people", type=int, default=0, help="keep the N identities seen most (0: all)")
    parser.add_argument("--max-lost-frames", type=int, default=150,
                        help="frames a person may be gone and still get the same id back (default 150)")
    parser.add_argument("--min-track-frames", type=int, default=1, help="drop identities seen in fewer frames")


def tracker_config(args: argparse.Namespace) -> TrackerConfig:
    return TrackerConfig(max_people=args.max_people, max_lost_frames=args.max_lost_frames,
                         min_track_frames=args.min_track_frames)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, nargs="?", help="POSE_KEYPOINT JSON, OpenPose JSON, or a folder of them")
    parser.add_argument("output", type=Path, nargs="?", help="where to write the poses with a track_id per person")
    parser.add_argument("--video", type=Path, help="the video (or frame folder) the poses came from: adds a "
                        "clothing-colour cue; must have one frame per pose frame")
    parser.add_argument("--width", type=int, default=0, help="canvas width when the JSON has none")
    parser.add_argument("--height", type=int, default=0, help="canvas height when the JSON has none")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    parser.add_argument("--benchmark", action="store_true",
                        help="instead: print IDF1 / identity switches of the tracker vs left-to-right re-sorting "
                             "on synthetic scenes, and tracking speed")
    add_tracking_arguments(parser)


def _load_video(path: Path, frames: int):
    from ...core.video.reader import load_frames

    pixels = load_frames(path).frames
    if len(pixels) != frames:
        raise InputError("--video", f"{path} has {len(pixels)} frames but the poses have {frames}",
                         "give the video the poses were extracted from")
    return pixels


def main(args: argparse.Namespace) -> int:
    if args.benchmark:
        from ...benchmarks.tracking import format_table, run_benchmark

        print(format_table(run_benchmark()))
        return 0
    if args.input is None or args.output is None:
        print("error: give INPUT and OUTPUT (or --benchmark)", file=sys.stderr)
        return 2
    if args.output.exists() and not args.overwrite:
        print(f"error: {args.output} exists; pass --overwrite to replace it", file=sys.stderr)
        return 2
    try:
        canvas = (args.width, args.height) if args.width > 0 and args.height > 0 else None
        raw, frames = load_pose_json(args.input, canvas)
        pixels = _load_video(args.video, frames.num_frames) if args.video else None
        ids = assign_track_ids(frames, pixels, tracker_config(args))
        save_json(with_track_ids(raw, frames, ids), args.output)
    except (InputError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.output}: {_summary(frames, ids)}")
    return 0


def _summary(frames: PoseFrames, ids: list) -> str:
    identities = {int(i) for frame in ids for i in frame}
    return f"{frames.num_frames} frames, {len(identities)} identities"
