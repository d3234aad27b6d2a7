"""`python -m choreograph pose`: DWPose whole-body poses of every person in a video, with persistent ids."""
from __future__ import annotations

import argparse
import sys
import os
from pathlib import Path

from ...core.errors import InputError, MissingModelError
from ...core.pose.extract import DETECTOR, ESTIMATOR, MODEL_FOLDER, extract_poses, load_dwpose
from ...core.pose.pose_keypoint import save_json, write_pose_keypoint
from ...core.pose.tracking import track_poses
from .track import add_tracking_arguments, tracker_config

HELP = "extract DWPose whole-body poses from a video or frame folder and track identities (POSE_KEYPOINT JSON out)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", type=Path, help="video file or folder of frames")
    parser.add_argument("output", type=Path, help="POSE_KEYPOINT JSON to write (people carry a track_id)")
    parser.add_argument("--models-dir", type=Path, help="models folder holding detection/yolox_l.onnx and "
                        "detection/dw-ll_ucoco_384.onnx (default: $CHOREOGRAPH_MODELS_DIR, then ./models)")
    parser.add_argument("--detector", default=DETECTOR.filename, help="person detector file, or 'none'")
    parser.add_argument("--estimator", default=ESTIMATOR.filename, help="whole-body estimator file")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="onnxruntime device")
    parser.add_argument("--batch-size", type=int, default=16, help="person crops per estimator call")
    parser.add_argument("--frame-load-cap", type=int, default=0, help="load at most this many frames (0: all)")
    parser.add_argument("--select-every-nth", type=int, default=1, help="keep every n-th frame")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    add_tracking_arguments(parser)


def search_dirs(models_dir: Path | None) -> list[Path]:
    """``--models-dir`` (its ``detection`` folder, or itself), then ``$CHOREOGRAPH_MODELS_DIR/detection``, then
    ``./models/detection``; downloads go to the first."""
    dirs = [models_dir / MODEL_FOLDER, models_dir] if models_dir else []
    if os.environ.get("CHOREOGRAPH_MODELS_DIR"):
        dirs.append(Path(os.environ["CHOREOGRAPH_MODELS_DIR"]) / MODEL_FOLDER)
    return dirs + [Path.cwd() / "models" / MODEL_FOLDER]


def main(args: argparse.Namespace) -> int:
    from ...core.video.reader import FrameSelection, load_frames

    if args.output.exists() and not args.overwrite:
        print(f"error: {args.output} exists; pass --overwrite to replace it", file=sys.stderr)
        return 2
    try:
        model = load_dwpose(search_dirs(args.models_dir), args.device,
                            None if args.detector == "none" else args.detector, args.estimator, args.batch_size)
        loaded = load_frames(args.video, FrameSelection(frame_load_cap=args.frame_load_cap,
                                                        select_every_nth=args.select_every_nth))
        found = extract_poses(model, loaded.frames, loaded.info["loaded_fps"])
        poses = track_poses(found, loaded.frames, tracker_config(args))
    except (InputError, MissingModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    save_json(write_pose_keypoint(poses), args.output)
    print(f"wrote {args.output}: {poses.num_frames} frames, {poses.num_people} identities")
    return 0
