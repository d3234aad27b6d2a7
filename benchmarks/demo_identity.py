"""IC accuracy of the demo model with vs without the Identity Matching Graph loss, on held-out swap scenes.

Runs the main demo workflow (``workflows/main_demo.json``: re-tracked poses → identity map → skeletons, slot
masks, character slots → SCAIL-2 → identity QA) once per scene seed for each model folder and prints IC accuracy
(``core.metrics.identity``, character level) per scene, the mean, the worst scene, PSNR / SSIM against the
ground-truth render, and the gap between the first two models. The held-out seeds 5000–5007 are never training
scenes (on-the-fly training scenes use seeds ≥ ``training.synthetic_stream.FIRST_TRAINING_SEED``) and were never
used for tuning; ``--seeds validation`` (4000–4003) is what training curves and sampler settings are read on.

    python benchmarks/demo_identity.py                       # shipped models: demo/ and demo/ablation_no_img/
    python benchmarks/demo_identity.py --models runs/demo_scail2/model runs/demo_scail2_noimg/model
    python benchmarks/demo_identity.py --seeds validation --curve training/configs/demo_scail2.yaml
"""
from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from choreograph.headless.commands.demo import PACK_ROOT, WORKFLOW, demo_prompt, run_demo
from choreograph.nodes._host import allow_paths_outside
from choreograph.training.config import load_config
from choreograph.training.exports import export_checkpoint

SEED_SETS = {"held-out": list(range(5000, 5008)), "validation": list(range(4000, 4004))}
DEFAULT_MODELS = (("with IMG loss", PACK_ROOT / "demo"), ("without IMG loss", PACK_ROOT / "demo" / "ablation_no_img"))


@dataclass(frozen=True)
class Scores:
    seeds: list[int]
    ic: list[float]
    psnr: list[float]
    ssim: list[float]

    @property
    def worst(self) -> tuple[int, float]:
        i = int(np.argmin(self.ic))
        return self.seeds[i], self.ic[i]


def evaluate(model: Path, seeds: list[int], workdir: Path, verbose: bool = True) -> Scores:
    """The demo workflow with ``model`` on each scene seed: IC accuracy, PSNR and SSIM vs the render."""
    ic, psnr, ssim = [], [], []
    for seed in seeds:
        result = run_demo(demo_prompt(WORKFLOW, seed, str(model)), workdir / f"{model.name}_{seed}")
        ic.append(result.ic_accuracy)
        psnr.append(result.psnr_db)
        ssim.append(result.ssim)
        if verbose:
            print(f"  scene seed {seed}: IC accuracy {result.ic_accuracy:.3f}, PSNR {result.psnr_db:.2f} dB, "
                  f"SSIM {result.ssim:.3f} ({result.seconds:.0f} s)", flush=True)
    return Scores(seeds, ic, psnr, ssim)


def curve(config_path: Path, seeds: list[int], workdir: Path, every: int = 1) -> None:
    """IC accuracy of the checkpoints (steps that are multiples of ``every``) a run of ``config_path`` still
    holds: the training curve."""
    config = load_config(config_path)
    folder = Path(config.output_dir) / "checkpoints"
    steps = sorted((p for p in folder.glob("step_*") if int(p.name.split("_")[1]) % every == 0),
                   key=lambda p: int(p.name.split("_")[1]))
    print(f"curve of {config_path.name} on seeds {seeds[0]}-{seeds[-1]}: step, mean IC, worst IC, PSNR, SSIM")
    for checkpoint in steps:
        model = export_checkpoint(config, checkpoint, workdir / f"model_{checkpoint.name}")
        s = evaluate(model, seeds, workdir, verbose=False)
        print(f"  {int(checkpoint.name.split('_')[1]):6d}  {np.mean(s.ic):.3f}  {np.min(s.ic):.3f}  "
              f"{np.mean(s.psnr):.2f}  {np.mean(s.ssim):.3f}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", choices=sorted(SEED_SETS), default="held-out",
                        help="held-out (5000-5007, the reported score) or validation (4000-4003, for curves)")
    parser.add_argument("--models", nargs="*", type=Path, default=None,
                        help="model folders to compare (default: the shipped demo and its no-IMG ablation)")
    parser.add_argument("--curve", type=Path, default=None,
                        help="a demo training config: score the checkpoints its run holds instead")
    parser.add_argument("--every", type=int, default=1, help="with --curve: only steps that are multiples of this")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(1)
    allow_paths_outside(True)  # the model folders are the ones named on this command line (or exported to temp)
    seeds = SEED_SETS[args.seeds]
    with tempfile.TemporaryDirectory() as temp:
        if args.curve is not None:
            curve(args.curve, seeds, Path(temp), args.every)
            return 0
        models = [(str(m), m) for m in args.models] if args.models else list(DEFAULT_MODELS)
        summary = []
        for label, folder in models:
            print(f"{label}: {folder}", flush=True)
            summary.append((label, evaluate(folder, seeds, Path(temp))))
    print(f"\nIC accuracy on {len(seeds)} {args.seeds} dance+swap scenes (seeds {seeds[0]}-{seeds[-1]}):")
    for label, s in summary:
        seed, worst = s.worst
        print(f"  {label:<20} mean {np.mean(s.ic):.3f}  worst scene {worst:.3f} (seed {seed})  "
              f"PSNR {np.mean(s.psnr):.2f} dB  SSIM {np.mean(s.ssim):.3f}")
    if len(summary) >= 2:
        gap = np.mean(summary[0][1].ic) - np.mean(summary[1][1].ic)
        print(f"  gap ({summary[0][0]} − {summary[1][0]}): {gap:+.3f} mean IC accuracy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
