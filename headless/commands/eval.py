"""`python -m choreograph eval GENERATED REFERENCE_OR_GT --report OUT.json`: score a generated video, print a table.

Two modes, chosen by the second argument:

* **ground truth** (a video file or a folder of frames): video quality (L1, PSNR, SSIM, ST-SSIM, GMSD-T; LPIPS,
  FID and FVD with ``--lpips/--inception/--i3d`` weight files), plus tracking (HOTA, MOTA, IDF1) and pose scores
  (MPJPE, OKS, PoseSSIM, ...) when ``--generated-poses`` and ``--gt-poses`` are given.
* **reference image** (one image file): identity QA and IC accuracy of the generated video against the
  characters in the image; needs ``--poses`` (the tracked driving poses) and ``--reference-poses``.

Exit status: 0 evaluated (read ``ok`` in the report for the QA verdict), 2 bad input.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ...core.errors import InputError, MissingModelError

HELP = "evaluate a generated video against ground truth or a reference image and print a table"

EXIT_INVALID = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("generated", type=Path, help="generated video file or folder of frames")
    parser.add_argument("reference_or_gt", type=Path,
                        help="ground-truth video/frame folder (same size), or one reference image (identity QA)")
    parser.add_argument("--report", type=Path, default=None, help="write all scores as JSON here")
    truth = parser.add_argument_group("ground-truth mode")
    truth.add_argument("--trim", action="store_true",
                       help="score the common frames when the videos' or the pose files' lengths differ "
                            "(default: refuse)")
    truth.add_argument("--generated-poses", type=Path, default=None,
                       help="POSE_KEYPOINT / OpenPose JSON of the generated video (tracked ids kept, else tracked)")
    truth.add_argument("--gt-poses", type=Path, default=None, help="POSE_KEYPOINT / OpenPose JSON of the ground truth")
    truth.add_argument("--lpips", type=Path, default=None,
                       help="LPIPS AlexNet weights (.safetensors: features.* + lin0..4.weight)")
    truth.add_argument("--inception", type=Path, default=None, help="Inception-v3 pool3 ONNX file, enables FID")
    truth.add_argument("--i3d", type=Path, default=None, help="I3D ONNX file (clips (N,3,16,224,224)), enables FVD")
    qa = parser.add_argument_group("reference-image mode (identity QA)")
    qa.add_argument("--poses", type=Path, default=None, help="tracked driving poses (POSE_KEYPOINT JSON)")
    qa.add_argument("--reference-poses", type=Path, default=None, help="poses of the people in the reference image")
    qa.add_argument("--mapping", default="", help="'driving_track:reference_id, ...' (default: left to right)")
    qa.add_argument("--window", type=int, default=8, help="frames per verdict window")
    qa.add_argument("--drift-drop", type=float, default=0.15, help="likeness drop (cosine) that counts as drift")
    qa.add_argument("--overlay", type=Path, default=None, help="write the QA overlay video (mp4) here")


def _load_video(path: Path, name: str):
    from ...core.video.reader import load_frames

    if not path.exists():
        raise InputError(name, f"'{path}' does not exist", "give a video file or a folder of frames")
    return load_frames(path)


def _load_poses(path: Path | None, name: str, fps: float):
    from ...core.pose.pose_keypoint import load_pose_json
    from ...core.pose.tracking import track_poses

    if path is None or not path.exists():
        raise InputError(name, f"pose file '{path}' is missing", "give a POSE_KEYPOINT or OpenPose JSON file")
    _, frames = load_pose_json(path, fps=fps)
    return track_poses(frames)


def _networks(args: argparse.Namespace) -> dict:
    from ...core.metrics.lpips import load_lpips
    from ...core.metrics.networks import onnx_network

    return {"lpips": load_lpips(args.lpips) if args.lpips else None,
            "fid_network": onnx_network(args.inception, "--inception") if args.inception else None,
            "fvd_network": onnx_network(args.i3d, "--i3d") if args.i3d else None}


def evaluate_against_truth(args: argparse.Namespace) -> dict:
    """Video-quality, tracking and pose sections for the ground-truth mode."""
    from ...core.metrics.suite import evaluate_poses, evaluate_videos

    generated, truth = _load_video(args.generated, "generated"), _load_video(args.reference_or_gt, "ground_truth")
    gen, ref = generated.frames, truth.frames
    if args.trim:
        gen, ref = gen[: min(len(gen), len(ref))], ref[: min(len(gen), len(ref))]
    sections = evaluate_videos(gen, ref, **_networks(args))
    if (args.generated_poses is None) != (args.gt_poses is None):
        raise InputError("--generated-poses/--gt-poses", "only one pose file was given",
                         "give both to score tracking and poses, or neither")
    if args.generated_poses is not None:
        fps = float(truth.info.get("loaded_fps", 24.0))
        sections.update(evaluate_poses(_load_poses(args.generated_poses, "--generated-poses", fps),
                                       _load_poses(args.gt_poses, "--gt-poses", fps), trim=args.trim))
    return sections


def evaluate_against_reference(args: argparse.Namespace) -> dict:
    """Identity QA and IC accuracy sections for the reference-image mode (writes ``--overlay`` when asked)."""
    from ...core.conditioning.characters import build_characters
    from ...core.conditioning.identity import assign_identities
    from ...core.metrics.qa import qa_overlay
    from ...core.metrics.suite import identity_check

    generated = _load_video(args.generated, "generated")
    fps = float(generated.info.get("loaded_fps", 24.0))
    driving = _load_poses(args.poses, "--poses", fps)
    reference = _load_poses(args.reference_poses, "--reference-poses", fps)
    image = _read_reference_image(args.reference_or_gt)
    characters = build_characters(image, reference, driving, assign_identities(driving), mapping=args.mapping)
    report, regions = identity_check(generated.frames, driving, characters, args.window, args.drift_drop)
    if args.overlay is not None:
        from ...core.video.writer import write_mp4

        print(f"overlay: {write_mp4(qa_overlay(generated.frames, regions, report), args.overlay, fps, overwrite=True)}")
    summary = {"identity_held": report.ok, "IC_character": report.ic.character_accuracy,
               "IC_frame": report.ic.frame_accuracy, "swap_windows": len(report.swaps()),
               "drift_windows": sum(v.status == "drifted" for v in report.verdicts)}
    return {"identity": summary, "qa": report.as_dict()}


def _read_reference_image(path: Path):
    """The reference image as float32 RGB in [0, 1]."""
    import cv2
    import numpy as np

    image = cv2.imdecode(np.fromfile(str(path), dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError("reference_or_gt", f"'{path}' is not a readable image", "give a PNG or JPEG file")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0


def _is_image_file(path: Path) -> bool:
    from ...core.video.reader import IMAGE_SUFFIXES

    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES


def main(args: argparse.Namespace) -> int:
    from ...core.metrics.report import format_table, write_report

    try:
        if _is_image_file(args.reference_or_gt):
            sections = evaluate_against_reference(args)
        else:
            sections = evaluate_against_truth(args)
    except (InputError, MissingModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print(format_table({k: v for k, v in sections.items() if k not in ("notes", "qa")}))
    for section, notes in sections.get("notes", {}).items():
        for note in notes:
            print(f"note ({section}): {note}")
    if args.report is not None:
        print(f"report: {write_report(sections, args.report)}")
    return 0
