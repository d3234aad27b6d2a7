"""Tracker identity accuracy and speed on shuffled synthetic detections: `python benchmarks/tracking.py`."""
from choreograph.cli import main

if __name__ == "__main__":  # measurements may spawn processes that re-import this file
    raise SystemExit(main(["track", "--benchmark"]))
