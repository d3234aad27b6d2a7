"""Identity-guidance chain rates per stage: `python benchmarks/guidance_chain.py [--frames 81 --size 512 ...]`."""
import sys

from choreograph.core.conditioning.guidance_benchmark import main

if __name__ == "__main__":  # measurements may spawn processes that re-import this file
    raise SystemExit(main(sys.argv[1:]))
