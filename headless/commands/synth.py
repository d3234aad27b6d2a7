"""`python -m choreograph synth`: write a synthetic multi-character dataset, or time the generator."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ...core.errors import InputError
from ...core.synth.config import BACKGROUNDS, CHOREOGRAPHIES
from ...core.synth.dataset import DEFAULT_MIX, MIXED, DatasetSpec, write_dataset

HELP = "generate a synthetic multi-character dataset with exact ground truth (or --benchmark its speed)"


def _characters(text: str) -> tuple[int, int]:
    """``"3"`` → (3, 3); ``"2-4"`` → (2, 4)."""
    try:
        parts = [int(p) for p in text.split("-")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number or a range like 2-4") from None
    if len(parts) not in (1, 2):
        raise argparse.ArgumentTypeError(f"'{text}' is not a number or a range like 2-4")
    return (parts[0], parts[-1])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, help="dataset folder to create (or resume with the same settings)")
    parser.add_argument("--scenes", type=int, default=8, help="number of scenes (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="dataset seed; scene i depends only on (seed, i)")
    parser.add_argument("--frames", type=int, default=48, help="frames per scene (default 48)")
    parser.add_argument("--width", type=int, default=256, help="frame width, a multiple of 16 (default 256)")
    parser.add_argument("--height", type=int, default=256, help="frame height, a multiple of 16 (default 256)")
    parser.add_argument("--fps", type=float, default=24.0, help="frame rate (default 24)")
    parser.add_argument("--characters", type=_characters, default=(2, 4), metavar="N|MIN-MAX",
                        help="characters per scene, e.g. 3 or 2-4 (default 2-4)")
    parser.add_argument("--choreography", action="append", metavar="NAME[+NAME...]",
                        help=f"repeatable; each scene draws one. Names: {', '.join(CHOREOGRAPHIES)}. "
                             f"Default: a mix of {', '.join(DEFAULT_MIX)}")
    parser.add_argument("--background", choices=(MIXED, *BACKGROUNDS), default=MIXED,
                        help="background of every scene, or a per-scene mix (default)")
    parser.add_argument("--lookalike-prob", type=float, default=0.25,
                        help="probability that a scene has a pair of lookalike characters (default 0.25)")
    parser.add_argument("--benchmark", action="store_true",
                        help="print generation frames/s at 256² and 512² with 2 and 6 characters, and the time to "
                             "write a 1,000-frame dataset; writes nothing")


def _benchmark() -> int:
    from ...benchmarks.synthetic_world import main as benchmark

    return benchmark()


def main(args: argparse.Namespace) -> int:
    if args.benchmark:
        return _benchmark()
    if args.out is None:
        print("error: --out is required (or use --benchmark)", file=sys.stderr)
        return 2
    try:
        spec = DatasetSpec(scenes=args.scenes, seed=args.seed, frames=args.frames, width=args.width,
                           height=args.height, characters=args.characters,
                           choreographies=tuple(args.choreography) if args.choreography else MIXED,
                           background=args.background, lookalike_probability=args.lookalike_prob, fps=args.fps)
        folders = write_dataset(args.out, spec, _printer(args.scenes))
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {len(folders)} scenes ({len(folders) * args.frames} frames) to {args.out}")
    return 0


def _printer(total: int):
    """Print "scene k/N" once per finished scene (the writer also reports finer, in-scene progress)."""
    printed = {0}

    def report(done: int, _total: int) -> None:
        if done not in printed:
            printed.add(done)
            print(f"scene {done}/{total}", flush=True)

    return report
