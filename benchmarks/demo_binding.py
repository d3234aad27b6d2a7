"""Does a demo checkpoint bind each character to its reference *before* segment chaining? In-distribution probe.

``demo_identity`` scores the whole main job: a 49-frame video generated as 11 chained 9-frame segments, judged by
the colour/texture embedder. When that score is low it cannot tell a model that never learnt to read the
reference from one whose single windows are right but whose chained segments drift. This probe isolates the
first: on fresh training-distribution windows (new casts, seeds drawn like the stream's, ≥ 10⁶) it asks, per
latent frame with both people visible, whether each person's mean colour is nearer its own ground truth than the
other person's (the two-way assignment), once

* **one-step** at a high noise level (σ = 0.95 by default): the network's own guess of who wears what, where
  the noisy input still says almost nothing, and
* **sampled**: a full Euler run (12 steps, shift 3, no history) of the window, as one sampler segment does,

and it measures **reliance**: how much the network's x0 guess at that σ moves when each window gets another
window's driving video (poses and slot masks), against when it gets another window's reference. A network that
draws people where the poses say moves a lot with the driving; one that ignores it (copies the reference layout,
the shortcut a swap-heavy sample mix rewards) does not move at all, whatever its binding score.

    python -m choreograph.benchmarks.demo_binding training/configs/demo_scail2.yaml runs/demo_scail2/checkpoints/step_0006000
    python -m choreograph.benchmarks.demo_binding training/configs/demo_scail2.yaml demo/diffusion_pytorch_model.safetensors
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

from ..core.losses.flow_matching import noisy_latent
from ..core.models.scail2 import Scail2Context
from ..core.sampling.loop import denoise, seeded_noise
from ..core.sampling.solvers import FLOW_TIMESTEP_SCALE, FlowEuler
from ..training.config import load_config
from ..training.exports import checkpoint_transformer_state
from ..training.scail2_batch import Scail2Sample, collate, prompted
from ..training.scail2_objective import Scail2Objective

MIN_PERSON_PIXELS = 30


@dataclass(frozen=True)
class Binding:
    correct: int
    frames: int

    @property
    def accuracy(self) -> float:
        return self.correct / max(self.frames, 1)

    def __str__(self) -> str:
        return f"{self.accuracy:.2f} ({self.correct}/{self.frames} frames)"


def load_weights(objective: Scail2Objective, weights: Path) -> None:
    """A training checkpoint folder (``trainable.safetensors``) or an exported diffusers weights file."""
    state = checkpoint_transformer_state(weights) if weights.is_dir() else load_file(str(weights))
    objective.transformer.load_state_dict(state)
    objective.eval()


def probe_batch(objective: Scail2Objective, windows: int, seed: int) -> Scail2Sample:
    """``windows`` fresh stream samples (the config's distribution) drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        return collate([prompted(objective.prompt, objective.stream.sample(rng), rng, None) for _ in range(windows)])


def person_colours(frames: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Mean RGB ``(F, P, 3)`` of each person mask ``(F, P, H, W)`` in ``frames`` ``(F, H, W, 3)``."""
    weight = masks.float()
    return torch.einsum("fhwc,fphw->fpc", frames, weight) / weight.sum((2, 3)).clamp_min(1)[..., None]


def binding(objective: Scail2Objective, batch: Scail2Sample, latent: torch.Tensor) -> Binding:
    """Per latent frame with both people visible: is the own-colour assignment the cheaper one?"""
    correct = frames = 0
    for b in range(latent.shape[0]):
        truth = objective.codec.decode(batch.latent[b:b + 1])
        drawn = objective.codec.decode(latent[b:b + 1])
        last = list(range(0, truth.shape[0], 4))  # the pixel frame each gen mask belongs to
        masks = batch.gen_masks[b] > 0
        want, got = person_colours(truth[last], masks), person_colours(drawn[last], masks)
        visible = (masks.sum((2, 3)) > MIN_PERSON_PIXELS).all(1)
        for f in np.flatnonzero(visible.numpy()):
            cost = torch.cdist(got[f], want[f])
            correct += int(cost[0, 0] + cost[1, 1] < cost[0, 1] + cost[1, 0])
            frames += 1
    return Binding(correct, frames)


def x0_guess(objective: Scail2Objective, batch: Scail2Sample, sigma: float,
             context: Scail2Context | None = None) -> torch.Tensor:
    """The network's one-call x0 estimate from the windows noised to ``sigma`` (fixed noise), under ``context``
    (the batch's own by default)."""
    x0 = batch.latent
    s = torch.full((x0.shape[0],), sigma)
    x_t = noisy_latent(x0, seeded_noise(tuple(x0.shape), 0), s)
    text, image = objective.tokens(batch, torch.device("cpu"))
    with torch.no_grad():
        velocity = objective.transformer(x_t, s * FLOW_TIMESTEP_SCALE, text, image,
                                         context=batch.context if context is None else context)
    return x_t - sigma * velocity


def one_step(objective: Scail2Objective, batch: Scail2Sample, sigma: float) -> Binding:
    """Binding of the network's x0 guess from ``x_σ`` (one call, no sampler)."""
    return binding(objective, batch, x0_guess(objective, batch, sigma))


@dataclass(frozen=True)
class Reliance:
    driving: float  # mean squared change of the x0 guess when the driving is another window's
    reference: float  # the same for the reference image and its slot mask

    def __str__(self) -> str:
        return f"x0 guess moves {self.driving:.4f} with another driving, {self.reference:.4f} with another reference"


def reliance(objective: Scail2Objective, batch: Scail2Sample, sigma: float) -> Reliance:
    """How much the x0 guess at ``sigma`` depends on the driving vs the reference (each rolled by one window)."""
    ctx = batch.context
    other = torch.roll(torch.arange(batch.latent.shape[0]), 1)
    base = x0_guess(objective, batch, sigma)
    driving = x0_guess(objective, batch, sigma, dataclasses.replace(
        ctx, driving=ctx.driving[other], driving_mask=ctx.driving_mask[other]))
    reference = x0_guess(objective, batch, sigma, dataclasses.replace(
        ctx, reference=ctx.reference[other], reference_mask=ctx.reference_mask[other]))
    return Reliance(float(((driving - base) ** 2).mean()), float(((reference - base) ** 2).mean()))


def sampled(objective: Scail2Objective, batch: Scail2Sample, steps: int = 12, shift: float = 3.0) -> Binding:
    """Binding of one sampler segment: Euler from noise, no history, CFG 1."""
    text, image = objective.tokens(batch, torch.device("cpu"))

    def predict(sample: torch.Tensor, timestep: torch.Tensor, _cond: bool) -> torch.Tensor:
        return objective.transformer(sample, timestep, text, image, context=batch.context)

    with torch.no_grad():
        latent = denoise(predict, seeded_noise(tuple(batch.latent.shape), 0), FlowEuler(steps, shift))
    return binding(objective, batch, latent)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path, help="a demo training config with data.stream (the windows' distribution)")
    parser.add_argument("weights", type=Path, nargs="+", help="checkpoint folders or exported weight files")
    parser.add_argument("--windows", type=int, default=16, help="fresh windows per measurement")
    parser.add_argument("--sigma", type=float, default=0.95, help="noise level of the one-step probe")
    parser.add_argument("--seed", type=int, default=777, help="draws the probe windows")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    objective = Scail2Objective(load_config(args.config), torch.device("cpu"))
    if objective.stream is None:
        print(f"{args.config} has no data.stream: the probe needs the on-the-fly scenes", file=sys.stderr)
        return 2
    batch = probe_batch(objective, args.windows, args.seed)
    print(f"binding on {args.windows} fresh windows ({args.config.name}'s distribution, 1 thread)")
    for weights in args.weights:
        load_weights(objective, weights)
        print(f"  {weights}: one-step σ={args.sigma}: {one_step(objective, batch, args.sigma)}; "
              f"sampled: {sampled(objective, batch)}; {reliance(objective, batch, args.sigma)}", flush=True)
    objective.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
