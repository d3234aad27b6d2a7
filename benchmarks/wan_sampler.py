"""SCAIL-2 sampler overhead and long-video memory: `python benchmarks/wan_sampler.py [--dim 256 ...]`."""
import sys

from choreograph.cli import main

if __name__ == "__main__":  # measurements may spawn processes that re-import this file
    raise SystemExit(main(["wan_bench", *sys.argv[1:]]))
