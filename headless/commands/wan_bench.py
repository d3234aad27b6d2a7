"""`python -m choreograph wan_bench`: the in-context Wan sampler's overhead and long-video memory."""
from __future__ import annotations

import argparse

HELP = "measure the SCAIL-2 sampler's overhead over bare forwards and its peak memory for 17 vs 65 frames"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ...benchmarks.wan_sampler import add_arguments as benchmark_arguments

    benchmark_arguments(parser)


def main(args: argparse.Namespace) -> int:
    from ...benchmarks.wan_sampler import run

    return run(args)
