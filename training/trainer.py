"""The training loop on accelerate: one process or many (``accelerate launch``), CPU or GPU, exact resume.

Every random choice of a step — which clip, which frame pair, slot colours, augmentation, noise level, noise,
history frames — is drawn from a generator seeded by ``(seed, step, rank)``. That makes a resumed run identical to
an uninterrupted one (the step is the whole data position) and gives each process different samples.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from torch import nn

from ..core.errors import InputError
from .batch_loader import StepBatches, step_generators  # noqa: F401  (step_generators: part of the API)
from .checkpoints import (latest_checkpoint, load_checkpoint, refuse_to_overwrite, save_checkpoint,
                          save_sharded_checkpoint)
from .config import Config, TrainConfig
from .dataset import Clip, list_clips
from .distributed import gathered_state, is_sharded, make_accelerator, shard_on_cpu
from .metrics_log import MetricsLog
from .objectives import build_objective
from .synthetic import write_synthetic

log = logging.getLogger(__name__)


@dataclass
class Run:
    """What one training process holds."""

    config: Config
    accelerator: Accelerator
    model: nn.Module  # the objective as prepared (possibly DDP-wrapped)
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    clips: list[Clip]

    @property
    def network(self) -> nn.Module:
        """The objective module itself (``transformer`` etc. inside), unwrapped from DDP."""
        return self.accelerator.unwrap_model(self.model)


def load_clips(config: Config, accelerator: Accelerator) -> list[Clip]:
    """Open (after writing, when asked for synthetic data) and check every clip before training starts; none when
    scenes are generated on the fly (``data.stream``)."""
    if config.data.stream is not None:
        return []
    synthetic = config.data.synthetic
    if synthetic is not None and accelerator.is_main_process:
        write_synthetic(config.data.root, synthetic)
    accelerator.wait_for_everyone()
    clips = [Clip(path) for path in list_clips(config.data.root)]
    short = [c.meta.path.name for c in clips if c.meta.frames < config.data.frames]
    if short:
        raise InputError("dataset", f"clips {short[:3]} are shorter than data.frames={config.data.frames}",
                         "lower data.frames or remove the short clips")
    return clips


def rate_factor(step: int, warmup: int, steps: int, decay_start: int | None, decay_final: float) -> float:
    """Multiplier of the configured rate at ``step``: linear warm-up, constant (SPEC §1.6/§3.5 recipes), then
    optionally a linear cool-down from ``decay_start`` to ``decay_final`` at ``steps`` (a model trained from
    scratch settles its weights, so its samples carry less step-to-step noise)."""
    factor = min(1.0, (step + 1) / warmup) if warmup else 1.0
    if decay_start is not None and step >= decay_start:
        done = min(1.0, (step - decay_start) / max(1, steps - decay_start))
        factor *= 1.0 - (1.0 - decay_final) * done
    return factor


def _schedule(optimizer: torch.optim.Optimizer, train: TrainConfig) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(optimizer, partial(
        rate_factor, warmup=train.warmup_steps, steps=train.steps, decay_start=train.decay_start,
        decay_final=train.decay_final))


def setup(config: Config) -> Run:
    """Build data, objective, optimiser; prepare them with accelerate (DDP, or FSDP-2 with ``train.distributed:
    fsdp``). Raises ``InputError`` before any step."""
    accelerator = make_accelerator(config)
    clips = load_clips(config, accelerator)
    objective = build_objective(config, accelerator.device, clips)
    sharded_here = shard_on_cpu(accelerator, config, objective)  # before the optimizer sees the parameters
    params = [p for p in objective.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.train.learning_rate, weight_decay=config.train.weight_decay)
    scheduler = _schedule(optimizer, config.train)
    if sharded_here:
        model = objective
        optimizer, scheduler = accelerator.prepare(optimizer, scheduler)
    else:
        model, optimizer, scheduler = accelerator.prepare(objective, optimizer, scheduler)
    return Run(config, accelerator, model, optimizer, scheduler, clips)


def make_batch(run: Run, rng: np.random.Generator):
    return run.network.make_batch(run.clips, rng)


def step_batches(run: Run, first: int, last: int) -> StepBatches:
    """Batches of steps ``first..last-1``, built ahead: in ``data.workers`` processes when the objective's batches
    need no network on the training device (``batch_maker``), else on one loader thread. Either way a batch is a
    pure function of (seed, step, process), so where it is built never changes the run."""
    maker = getattr(run.network, "batch_maker", None)
    return StepBatches(run.network.make_batch, run.clips, run.config.seed, run.accelerator.process_index, first,
                       last, run.config.data.workers, maker() if maker is not None else None)


def losses(run: Run, batch, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """The objective's loss terms for one batch; ``loss`` is what is minimised."""
    with run.accelerator.autocast():
        return run.model(batch, generator)


def optimise(run: Run, terms: dict[str, torch.Tensor]) -> None:
    run.accelerator.backward(terms["loss"])
    if run.config.train.grad_clip > 0:
        run.accelerator.clip_grad_norm_(run.model.parameters(), run.config.train.grad_clip)
    run.optimizer.step()
    run.scheduler.step()
    run.optimizer.zero_grad(set_to_none=True)


def resume_step(run: Run, resume: str | bool | None) -> int:
    """0 for a fresh run; else the step of the checkpoint named (or the run's latest) after loading it."""
    if not resume:
        return 0
    folder = Path(run.config.output_dir) / "checkpoints"
    path = latest_checkpoint(folder) if resume is True else Path(resume)
    if path is None:
        if run.accelerator.is_main_process:
            log.info("no checkpoint in %s yet; starting from step 0", folder)
        return 0
    if path.is_dir() and (path / "checkpoints").is_dir():
        path = latest_checkpoint(path / "checkpoints") or path
    step = load_checkpoint(path, run.network, run.optimizer, run.scheduler)
    if run.accelerator.is_main_process:
        log.info("resumed from %s at step %d", path, step)
    return step


def _report(run: Run, step: int, terms: dict[str, torch.Tensor], seconds: float, metrics: MetricsLog) -> None:
    values = {k: float(run.accelerator.reduce(v.detach().float(), "mean")) for k, v in sorted(terms.items())}
    if not run.accelerator.is_main_process:
        return
    samples = run.config.train.batch_size * run.accelerator.num_processes / max(seconds, 1e-9)
    row = {"step": step, **values, "lr": run.scheduler.get_last_lr()[0], "samples_per_s": samples}
    metrics.write(row)
    text = " ".join(f"{k} {v:.4f}" for k, v in values.items())
    print(f"step {step}/{run.config.train.steps} {text} lr {row['lr']:.2e} {samples:.2f} samples/s", flush=True)


def checkpoint(run: Run, step: int) -> None:
    """Write checkpoint ``step``: by the main process, or by every process (its shards) in a sharded run."""
    acc, t = run.accelerator, run.config.train
    folder = Path(run.config.output_dir) / "checkpoints"
    acc.wait_for_everyone()
    if is_sharded(run.network):
        save_sharded_checkpoint(folder, step, run.network, run.optimizer, run.scheduler, t.keep_checkpoints,
                                acc.process_index, acc.num_processes, acc.wait_for_everyone)
    elif acc.is_main_process:
        save_checkpoint(folder, step, run.network, run.optimizer, run.scheduler, t.keep_checkpoints)


def fit(run: Run, resume: str | bool | None = None, stop_after: int | None = None) -> tuple[int, int]:
    """Run steps until ``train.steps`` (or ``stop_after``), logging and checkpointing; returns (start, end) step."""
    config, t = run.config, run.config.train
    out = Path(config.output_dir)
    metrics = MetricsLog(out)
    step = start = resume_step(run, resume)
    last = t.steps if stop_after is None else min(t.steps, stop_after)
    with step_batches(run, step, last) as batches:  # the next batches are built while this one trains
        while step < last:
            tick = time.perf_counter()
            batch, generator = batches.get(step)
            terms = losses(run, batch, generator)
            optimise(run, terms)
            step += 1
            if step % t.log_every == 0 or step == t.steps:
                _report(run, step, terms, time.perf_counter() - tick, metrics)
            if step % t.checkpoint_every == 0 or step == t.steps:
                checkpoint(run, step)
    run.accelerator.wait_for_everyone()
    return start, step


def finish(run: Run, start: int, step: int, seconds: float) -> None:
    """Print the throughput; when the run is complete, export the model / LoRA and plot the losses."""
    config, t = run.config, run.config.train
    if run.accelerator.is_main_process:
        rate = (step - start) * t.batch_size * run.accelerator.num_processes / max(seconds, 1e-9)
        print(f"benchmark: {step - start} steps, {rate:.2f} samples/s on {run.accelerator.num_processes} "
              "process(es)", flush=True)
    if step >= t.steps:
        exporter = run.network
        if is_sharded(run.network):  # every process sends its shards; process 0 exports from an unsharded copy
            state = gathered_state(run.network)
            if run.accelerator.is_main_process:
                exporter = build_objective(config, torch.device("cpu"), run.clips)
                exporter.load_state_dict(state)
        if run.accelerator.is_main_process:
            out = Path(config.output_dir)
            for path in exporter.export(out):
                print(f"wrote {path}", flush=True)
            MetricsLog(out).plot()
            if exporter is not run.network:
                exporter.close()
    run.network.close()
    run.accelerator.wait_for_everyone()


def train(config: Config, resume: str | bool | None = None, stop_after: int | None = None) -> Path:
    """Train to ``config.train.steps`` (or stop early after ``stop_after`` steps, keeping the checkpoint) and
    write the final model / LoRA into ``config.output_dir``; returns that folder."""
    refuse_to_overwrite(config.output_dir, resume)
    run = setup(config)
    began = time.perf_counter()
    start, step = fit(run, resume, stop_after)
    finish(run, start, step, time.perf_counter() - began)
    run.accelerator.end_training()
    return Path(config.output_dir)
