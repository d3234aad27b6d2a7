"""`python -m choreograph eval GENERATED GROUND_TRUTH --report OUT.json`: score a generated video, print a table.

Video quality (L1, PSNR, SSIM, ST-SSIM, GMSD-T; LPIPS/FID/FVD with ``--lpips/--inception/--i3d`` weight files)
always; tracking (HOTA, MOTA, IDF1) and pose scores (MPJPE, OKS, PoseSSIM, ...) when both pose files are given.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ...core.errors import InputError, MissingModelError

HELP = "evaluate a generated video against ground truth (video quality, tracking, pose) and print a table"

EXIT_INVALID = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("generated", type=Path, help="generated video file or folder of frames")
    parser.add_argument("ground_truth", type=Path, help="ground-truth video file or folder of frames (same size)")
    parser.add_argument("--report", type=Path, default=None, help="write all scores as JSON here")
    parser.add_argument("--trim", action="store_true",
                        help="score the common frames when the lengths differ (default: refuse)")
    parser.add_argument("--generated-poses", type=Path, default=None,
                        help="POSE_KEYPOINT / OpenPose JSON of the generated video (tracked ids kept, else tracked)")
    parser.add_argument("--gt-poses", type=Path, default=None, help="POSE_KEYPOINT / OpenPose JSON of the ground truth")
    parser.add_argument("--lpips", type=Path, default=None,
                        help="LPIPS AlexNet weights (.safetensors: features.* + lin0..4.weight)")
    parser.add_argument("--inception", type=Path, default=None, help="Inception-v3 pool3 ONNX file, enables FID")
    parser.add_argument("--i3d", type=Path, default=None, help="I3D ONNX file (clips (N,3,16,224,224)), enables FVD")


def _load_video(path: Path, name: str):
    from ...core.video.reader import load_frames

    if not path.exists():
        raise InputError(name, f"'{path}' does not exist", "give a video file or a folder of frames")
    return load_frames(path)


def _load_poses(path: Path, fps: float):
    from ...core.pose.pose_keypoint import load_pose_json
    from ...core.pose.tracking import track_poses

    if not path.exists():
        raise InputError(str(path), "pose file does not exist", "give a POSE_KEYPOINT or OpenPose JSON file")
    _, frames = load_pose_json(path, fps=fps)
    return track_poses(frames)


def _networks(args: argparse.Namespace) -> dict:
    from ...core.metrics.lpips import load_lpips
    from ...core.metrics.networks import onnx_network

    return {"lpips": load_lpips(args.lpips) if args.lpips else None,
            "fid_network": onnx_network(args.inception) if args.inception else None,
            "fvd_network": onnx_network(args.i3d) if args.i3d else None}


def evaluate(args: argparse.Namespace) -> dict:
    """All sections for the command-line arguments (raises ``InputError`` on bad input)."""
    from ...core.metrics.suite import evaluate_poses, evaluate_videos

    generated, truth = _load_video(args.generated, "generated"), _load_video(args.ground_truth, "ground_truth")
    gen, ref = generated.frames, truth.frames
    if args.trim:
        gen, ref = gen[: min(len(gen), len(ref))], ref[: min(len(gen), len(ref))]
    sections = evaluate_videos(gen, ref, **_networks(args))
    if (args.generated_poses is None) != (args.gt_poses is None):
        raise InputError("--generated-poses/--gt-poses", "only one pose file was given",
                         "give both to score tracking and poses, or neither")
    if args.generated_poses is not None:
        fps = float(truth.info.get("loaded_fps", 24.0))
        sections.update(evaluate_poses(_load_poses(args.generated_poses, fps), _load_poses(args.gt_poses, fps)))
    return sections


def main(args: argparse.Namespace) -> int:
    from ...core.metrics.report import format_table, write_report

    try:
        sections = evaluate(args)
    except (InputError, MissingModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print(format_table({k: v for k, v in sections.items() if k != "notes"}))
    for section, notes in sections.get("notes", {}).items():
        for note in notes:
            print(f"note ({section}): {note}")
    if args.report is not None:
        print(f"report: {write_report(sections, args.report)}")
    return 0
