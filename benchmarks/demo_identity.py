"""IC accuracy of the demo model with vs without the Identity Matching Graph loss, on held-out swap scenes.

Runs the main demo workflow (``workflows/main_demo.json``: re-tracked poses → identity map → skeletons, slot
masks, character slots → SCAIL-2 → identity QA) once per scene seed for each model folder and prints IC accuracy
(``core.metrics.identity``, character level) per scene and averaged. The scene seeds are not among the training
scenes (those come from ``python -m choreograph synth --seed 11``, whose per-scene seeds are drawn at random).

    python benchmarks/demo_identity.py                       # shipped models: demo/ and demo/ablation_no_img/
    python benchmarks/demo_identity.py --scenes 4 --models runs/demo_scail2/model runs/demo_scail2_noimg/model
"""
from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

import numpy as np
from choreograph.headless.commands.demo import PACK_ROOT, WORKFLOW, demo_prompt, run_demo

FIRST_SEED = 5000
DEFAULT_MODELS = (("with IMG loss", PACK_ROOT / "demo"), ("without IMG loss", PACK_ROOT / "demo" / "ablation_no_img"))


def scene_accuracies(model: Path, seeds: list[int], workdir: Path) -> list[float]:
    """IC accuracy of ``model`` on the demo workflow for each scene seed."""
    scores = []
    for seed in seeds:
        result = run_demo(demo_prompt(WORKFLOW, seed, str(model)), workdir / f"{model.name}_{seed}")
        scores.append(result.ic_accuracy)
        print(f"  scene seed {seed}: IC accuracy {result.ic_accuracy:.3f} ({result.seconds:.0f} s)", flush=True)
    return scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=8, help="held-out swap scenes per model (default 8)")
    parser.add_argument("--models", nargs="*", type=Path, default=None,
                        help="model folders to compare (default: the shipped demo and its no-IMG ablation)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    models = [(str(m), m) for m in args.models] if args.models else list(DEFAULT_MODELS)
    seeds = list(range(FIRST_SEED, FIRST_SEED + args.scenes))
    summary = []
    with tempfile.TemporaryDirectory() as temp:
        for label, folder in models:
            print(f"{label}: {folder}", flush=True)
            scores = scene_accuracies(folder, seeds, Path(temp))
            summary.append((label, float(np.mean(scores)), float(np.min(scores))))
    print(f"\nIC accuracy on {len(seeds)} held-out dance+swap scenes (seeds {seeds[0]}-{seeds[-1]}):")
    for label, mean, worst in summary:
        print(f"  {label:<20} mean {mean:.3f}  worst scene {worst:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
