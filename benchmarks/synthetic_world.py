"""Synthetic world speed: `python benchmarks/synthetic_world.py`."""
from choreograph.cli import main

if __name__ == "__main__":  # measurements may spawn processes that re-import this file
    raise SystemExit(main(["synth", "--benchmark"]))
