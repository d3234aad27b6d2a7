"""`python -m choreograph pairs DATASET --workflow W.json --reference IMG …`: reverse-driving triplets from
prepared clips (SCAIL-2 §3.2). A pose-driven generator workflow re-synthesises each clip's motion with another
reference character; that video becomes the clip's driving input, the real clip stays the target. Placeholders
the workflow may use are listed in ``training/generated_pairs.py``; ``training/workflows/pairs_demo_generator.json``
is an example with the shipped demo model."""
from __future__ import annotations

import argparse
from pathlib import Path

from ...core.errors import InputError

HELP = "add generated driving videos (another reference, same motion) to prepared clips: reverse-driving pairs"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", type=Path, help="folder of prepared clips (from prepare); clips gain driving/")
    parser.add_argument("--workflow", type=Path, required=True,
                        help="pose-driven generator workflow with {poses}, {reference}, … placeholders")
    parser.add_argument("--reference", dest="references", action="append", type=Path, default=[], required=True,
                        help="reference character image (repeatable; <image>.json = its poses); one per clip, "
                        "drawn by --seed")
    parser.add_argument("--mode", choices=("animation", "replacement"), default="animation",
                        help="animation: the generator puts the character in the reference's scene; replacement: "
                        "a replacement generator keeps the clip's scene")
    parser.add_argument("--output-node", default=None,
                        help="node id whose first output is the driving video (default: what Save Video saves)")
    parser.add_argument("--seed", type=int, default=0, help="which reference each clip gets")
    parser.add_argument("--output-dir", type=Path, default=Path("output"), help="where the workflow's saves go")


def main(args: argparse.Namespace) -> int:
    from ...training.generated_pairs import ReferenceImage, load_generator, make_pairs

    try:
        generator = load_generator(args.workflow, args.output_node)
        references = [ReferenceImage.from_path(p) for p in args.references]
        written = make_pairs(args.dataset, generator, references, args.mode, args.seed, args.output_dir,
                             lambda i, n: print(f"clip {i}/{n}", flush=True))
    except InputError as exc:
        print(f"error: {exc}")
        return 2
    print(f"wrote driving videos for {len(written)} clip(s) in {args.dataset}")
    return 0
