"""`python -m choreograph prepare VIDEO_DIR OUT_DIR`: turn videos into training clips (poses, tracks, masks)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ...core.errors import InputError, MissingModelError
from ...core.pose.extract import DETECTOR, ESTIMATOR
from .pose import search_dirs
from .track import add_tracking_arguments, tracker_config

HELP = "prepare training clips from a folder of videos: DWPose (or <name>.json poses), tracking, masks, swap table"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video_dir", type=Path, help="folder of videos and/or frame folders (one clip each)")
    parser.add_argument("out_dir", type=Path, help="dataset folder to write clips into (training data.root)")
    parser.add_argument("--models-dir", type=Path, help="models folder holding detection/yolox_l.onnx and "
                        "detection/dw-ll_ucoco_384.onnx (not needed when every video has a <name>.json)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="onnxruntime device")
    parser.add_argument("--width", type=int, default=0, help="resize frames to this width (0: keep)")
    parser.add_argument("--height", type=int, default=0, help="resize frames to this height (0: keep)")
    parser.add_argument("--frame-load-cap", type=int, default=0, help="at most this many frames per video (0: all)")
    parser.add_argument("--select-every-nth", type=int, default=1, help="keep every n-th frame")
    parser.add_argument("--arcface", type=Path, help="ArcFace ONNX for identity vectors (default: "
                        "<models-dir>/insightface/glintr100.onnx when present); clips without are listed in "
                        "OUT_DIR/without_faces.txt")
    add_tracking_arguments(parser)


def _poses_for(video: Path, loaded, model, args: argparse.Namespace):
    from ...core.pose.extract import extract_poses
    from ...core.pose.pose_keypoint import load_pose_json
    from ...core.pose.tracking import track_poses

    given = video.with_suffix(".json") if video.is_file() else video.parent / f"{video.name}.json"
    fps = loaded.info["loaded_fps"]
    if given.is_file():
        _, found = load_pose_json(given, (loaded.frames.shape[2], loaded.frames.shape[1]), fps)
    else:
        found = extract_poses(model, loaded.frames, fps)
    return track_poses(found, loaded.frames, tracker_config(args))


def _needs_model(videos: list[Path]) -> bool:
    return any(not (v.with_suffix(".json") if v.is_file() else v.parent / f"{v.name}.json").is_file()
               for v in videos)


def _arcface(args: argparse.Namespace):
    """The ArcFace model to embed faces with, or None (then every clip is recorded as without faces)."""
    from ...core.faces.arcface import ArcFace

    path = args.arcface or (args.models_dir / "insightface" / "glintr100.onnx" if args.models_dir else None)
    if args.arcface is not None and not args.arcface.is_file():
        raise InputError("--arcface", f"'{args.arcface}' does not exist", "give an ArcFace .onnx file")
    return ArcFace(path, "--arcface") if path is not None and path.is_file() else None


def _identity_vectors(arcface, frames, poses, target: Path, out_dir: Path) -> None:
    from ...training.face_vectors import faces_from_video, record_missing, write_faces
    from ...training.prepare import fit_canvas

    if arcface is None:
        record_missing(out_dir, target.name, "no ArcFace model")
        return
    poses = fit_canvas(poses, frames.shape[2], frames.shape[1])
    vectors, found = faces_from_video(arcface, frames, poses)
    write_faces(target, vectors, found)
    if not found.all():
        missing = [t for t, f in zip(poses.track_ids, found) if not f]
        record_missing(out_dir, target.name, f"no usable face for track(s) {missing}")


def main(args: argparse.Namespace) -> int:
    from ...core.pose.extract import load_dwpose
    from ...core.video.reader import FrameSelection, load_frames
    from ...training.dataset import write_clip
    from ...training.prepare import clip_from_video, find_videos

    try:
        videos = find_videos(args.video_dir)
        selection = FrameSelection(frame_load_cap=args.frame_load_cap, select_every_nth=args.select_every_nth,
                                   width=args.width, height=args.height)
        model = (load_dwpose(search_dirs(args.models_dir), args.device, DETECTOR.filename, ESTIMATOR.filename)
                 if _needs_model(videos) else None)
        arcface = _arcface(args)
    except (InputError, MissingModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    failed = 0
    for video in videos:
        target = args.out_dir / video.stem
        if target.exists():
            print(f"skip {video.name}: {target} exists")
            continue
        try:
            loaded = load_frames(video, selection)
            poses = _poses_for(video, loaded, model, args)
            write_clip(clip_from_video(loaded.frames, poses, loaded.info["loaded_fps"], video.name), target)
            _identity_vectors(arcface, loaded.frames, poses, target, args.out_dir)
        except InputError as exc:
            print(f"error: {video.name}: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(f"wrote {target}: {poses.num_frames} frames, {poses.num_people} identities")
    return 1 if failed else 0
