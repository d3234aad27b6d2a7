"""`python -m choreograph preferences OUT`: Bias-Aware DPO preference pairs (SCAIL-2 Appendix B) for
``train.method: dpo``. An accurate and a degraded pose of the same motion drive the same generator with the same
reference; both share the driving video V_d. Synthetic by default (the renderer is the generator); with
``--from-clips`` a generator workflow (see ``pairs``) runs on prepared clips. The degradation model of fingers is
``core.synth.preferences.HandDegradation``."""
from __future__ import annotations

import argparse
from pathlib import Path

from ...core.errors import InputError

HELP = "build Bias-Aware DPO preference pairs (accurate vs degraded hands, same generator and reference)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", type=Path, help="dataset folder to write (training data.root for train.method dpo)")
    parser.add_argument("--count", type=int, default=8, help="synthetic: number of preference items")
    parser.add_argument("--seed", type=int, default=0, help="which motions / references / degradations")
    parser.add_argument("--frames", type=int, default=17, help="synthetic: frames per clip")
    parser.add_argument("--width", type=int, default=64, help="synthetic: frame width")
    parser.add_argument("--height", type=int, default=64, help="synthetic: frame height")
    parser.add_argument("--characters", type=int, default=2, help="synthetic: people per clip")
    group = parser.add_argument_group("degradation of the dispreferred pose (fractions of the hand size)")
    group.add_argument("--hand-probability", type=float, default=1.0, help="chance each hand is degraded")
    group.add_argument("--jitter", type=float, default=0.2, help="std of per-finger-joint error")
    group.add_argument("--smooth-frames", type=int, default=3, help="temporal smoothing of that error")
    group.add_argument("--collapse-probability", type=float, default=0.3, help="chance fingers are 'neglected'")
    group.add_argument("--collapse", type=float, default=0.6, help="how far neglected fingers fall to the palm")
    real = parser.add_argument_group("from prepared clips with a generator workflow")
    real.add_argument("--from-clips", type=Path, default=None, help="folder of prepared clips (motion videos)")
    real.add_argument("--workflow", type=Path, default=None, help="pose-driven generator workflow (see pairs)")
    real.add_argument("--reference", dest="references", action="append", type=Path, default=[],
                      help="reference image (at least two; <image>.json = its poses)")
    real.add_argument("--output-dir", type=Path, default=Path("output"), help="where the workflow's saves go")


def main(args: argparse.Namespace) -> int:
    from ...core.synth.preferences import HandDegradation, PreferenceSpec
    from ...training.generated_pairs import ReferenceImage, load_generator
    from ...training.preferences import write_generated_preferences, write_synthetic_preferences

    def progress(i: int, n: int) -> None:
        print(f"item {i}/{n}", flush=True)

    try:
        degradation = HandDegradation(args.hand_probability, args.jitter, args.smooth_frames,
                                      args.collapse_probability, args.collapse)
        if args.from_clips is None:
            spec = PreferenceSpec(characters=(args.characters, args.characters), frames=args.frames,
                                  width=args.width, height=args.height, degradation=degradation)
            rows = write_synthetic_preferences(args.out, args.count, args.seed, spec, progress)
        else:
            if args.workflow is None:
                raise InputError("workflow", "--from-clips needs a generator workflow", "pass --workflow W.json")
            rows = write_generated_preferences(args.from_clips, args.out, load_generator(args.workflow),
                                               [ReferenceImage.from_path(p) for p in args.references], degradation,
                                               args.seed, args.output_dir, progress)
    except InputError as exc:
        print(f"error: {exc}")
        return 2
    print(f"wrote {len(rows)} preference pair(s) to {args.out / 'preferences.json'}")
    return 0
