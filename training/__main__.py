"""``python -m choreograph.training CONFIG.yaml [--resume [CHECKPOINT]]`` — also under ``accelerate launch -m``."""
from __future__ import annotations

import argparse
import logging
import sys

from ..core.errors import InputError
from ..core.signals import Terminated, raise_on_sigterm
from .config import load_config
from .trainer import train


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m choreograph.training",
                                     description="Fine-tune on multi-character clips (see training/configs/).")
    parser.add_argument("config", help="YAML training config")
    parser.add_argument("--resume", nargs="?", const=True, default=None, metavar="CHECKPOINT",
                        help="continue from the run's latest checkpoint, or from CHECKPOINT (a step_N folder)")
    parser.add_argument("--steps", type=int, default=None, help="override train.steps")
    parser.add_argument("--output-dir", default=None, help="override output_dir")
    parser.add_argument("--stop-after", type=int, default=None,
                        help="stop after this step (checkpointing as configured), e.g. to split a run")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    overrides: dict = {}
    if args.steps is not None:
        overrides["train"] = {"steps": args.steps}
    if args.output_dir is not None:
        overrides["output_dir"] = args.output_dir
    try:
        with raise_on_sigterm():
            train(load_config(args.config, overrides), resume=args.resume, stop_after=args.stop_after)
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; the last checkpoint is complete, continue with --resume", file=sys.stderr)
        return 130
    except Terminated:
        print("terminated; the last checkpoint is complete, continue with --resume", file=sys.stderr)
        return 143
    return 0


if __name__ == "__main__":
    sys.exit(main())
