"""`python -m choreograph wan_bench`: the in-context Wan sampler's overhead and long-video memory."""
from __future__ import annotations

import argparse
import json

HELP = "measure the SCAIL-2 sampler's overhead over bare forwards and its peak memory for 16 vs 64 frames"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dim", type=int, default=256, help="transformer width (multiple of 128)")
    parser.add_argument("--layers", type=int, default=2, help="transformer blocks")
    parser.add_argument("--size", type=int, nargs=2, default=(128, 128), metavar=("H", "W"),
                        help="video size in pixels (multiples of 32)")
    parser.add_argument("--steps", type=int, default=4, help="sampling steps per timing run")
    parser.add_argument("--solver", choices=("unipc", "euler"), default="unipc")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--skip-memory", action="store_true", help="only time the sampler")


def main(args: argparse.Namespace) -> int:
    from ...core.sampling.benchmark import BenchConfig, long_video_memory, sampler_overhead

    cfg = BenchConfig(args.dim, args.layers, args.size[0], args.size[1], args.steps, 5.0, args.solver, args.device)
    timing = sampler_overhead(cfg)
    print(f"sampler {timing['sampler']:.3f} s vs bare forwards {timing['bare']:.3f} s "
          f"({timing['forward_calls']} calls): overhead {100 * timing['overhead']:+.1f} % (target <= 5 %)")
    result = {"timing": timing}
    if not args.skip_memory:
        memory = long_video_memory(cfg)
        print(f"peak memory 16 frames {memory['peak_short'] / 2**20:.0f} MiB, 64 frames "
              f"{memory['peak_long'] / 2**20:.0f} MiB: ratio {memory['ratio']:.2f}, generation alone "
              f"{memory['generation_ratio']:.2f} (target <= 1.1)")
        result["memory"] = memory
    print(json.dumps(result))
    return 0
