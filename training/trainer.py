"""The training loop on accelerate: one process or many (``accelerate launch``), CPU or GPU, exact resume.

Every random choice of a step — which clip, which frame pair, slot colours, augmentation, noise level, noise,
history frames — is drawn from a generator seeded by ``(seed, step, rank)``. That makes a resumed run identical to
an uninterrupted one (the step is the whole data position) and gives each process different samples.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from torch import nn

from ..core.errors import InputError
from ..core.losses import flow_matching as fm
from ..core.losses.img_loss import matching_loss
from .checkpoints import latest_checkpoint, load_checkpoint, save_checkpoint
from .codecs import make_codec
from .config import Config
from .dataset import Clip, list_clips
from .exports import export_final
from .lora import add_lora
from .metrics_log import MetricsLog
from .model import build_model, empty_prompt
from .scail2_batch import SampleOptions, Scail2Sample, clip_sample, collate
from .synthetic import write_synthetic
from .wan_img import WanMatchingProbe, default_blocks

log = logging.getLogger(__name__)


@dataclass
class Run:
    """What one training process holds."""

    config: Config
    accelerator: Accelerator
    model: nn.Module  # as prepared (possibly DDP-wrapped)
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    clips: list[Clip]
    codec: object
    options: SampleOptions
    probe: WanMatchingProbe | None

    @property
    def network(self) -> nn.Module:
        return self.accelerator.unwrap_model(self.model)


def load_clips(config: Config, accelerator: Accelerator) -> list[Clip]:
    """Open (after writing, when asked for synthetic data) and check every clip before training starts."""
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


def _schedule(optimizer: torch.optim.Optimizer, warmup: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up to the configured rate, then constant (SPEC §1.6/§3.5 recipes)."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / warmup) if warmup else 1.0)


def setup(config: Config) -> Run:
    """Build data, model, optimiser; prepare them with accelerate. Raises ``InputError`` before any step."""
    accelerator = Accelerator(cpu=not torch.cuda.is_available(), mixed_precision=config.train.mixed_precision)
    clips = load_clips(config, accelerator)
    model = build_model(config.model, config.seed)
    if config.train.method == "lora":
        add_lora(model, config.lora.targets, config.lora.rank, config.lora.alpha)
    img = config.losses.img
    probe = None
    if img.weight > 0:
        probe = WanMatchingProbe(model, list(img.blocks) if img.blocks else default_blocks(len(model.blocks)))
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.train.learning_rate, weight_decay=config.train.weight_decay)
    scheduler = _schedule(optimizer, config.train.warmup_steps)
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)
    d = config.data
    options = SampleOptions(d.frames, d.width, d.height, d.swap_probability, d.sample_margin, d.permute_slots,
                            d.bone_scaling_probability)
    codec = make_codec(config.model.vae, accelerator.device)
    return Run(config, accelerator, model, optimizer, scheduler, clips, codec, options, probe)


def step_generators(seed: int, step: int, rank: int) -> tuple[np.random.Generator, torch.Generator]:
    rng = np.random.default_rng([seed, step, rank])
    return rng, torch.Generator().manual_seed(int(rng.integers(2**62)))


def make_batch(run: Run, rng: np.random.Generator) -> Scail2Sample:
    picks = rng.integers(len(run.clips), size=run.config.train.batch_size)
    with torch.no_grad():
        return collate([clip_sample(run.clips[i], run.codec, run.options, rng) for i in picks])


def losses(run: Run, batch: Scail2Sample, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Flow matching (history frames excluded) plus λ·IMG for one batch; ``loss`` is what is minimised."""
    device = run.accelerator.device
    batch = batch.to(device)
    x0 = batch.latent
    b, _, f, h, w = x0.shape
    noise = torch.randn(x0.shape, generator=generator).to(device)
    sigma = fm.sample_sigma(b, h * w // 4, generator).to(device)
    history = fm.history_frame_count(generator, True, f, run.config.losses.flow.history_probability)
    x_t = fm.with_history(fm.noisy_latent(x0, noise, sigma), x0, history)
    context = dataclasses.replace(batch.context, history_frames=history)
    text, image = empty_prompt(run.network, b, device)
    if run.probe is not None:
        run.probe.clear()
    with run.accelerator.autocast():
        prediction = run.model(x_t, sigma * 1000.0, text, image, context=context)
    terms = {"flow": fm.flow_matching_loss(prediction, fm.velocity_target(x0, noise), history)}
    terms["loss"] = terms["flow"]
    if run.probe is not None:
        scores = run.probe.scores(x0.shape, batch.gen_masks, batch.ref_masks, batch.match)
        terms["img"] = matching_loss(scores, run.config.losses.img.variant)
        terms["loss"] = terms["loss"] + run.config.losses.img.weight * terms["img"]
    return terms


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


def fit(run: Run, resume: str | bool | None = None, stop_after: int | None = None) -> tuple[int, int]:
    """Run steps until ``train.steps`` (or ``stop_after``), logging and checkpointing; returns (start, end) step."""
    config, t = run.config, run.config.train
    out = Path(config.output_dir)
    metrics = MetricsLog(out)
    step = start = resume_step(run, resume)
    while step < t.steps and (stop_after is None or step < stop_after):
        tick = time.perf_counter()
        rng, generator = step_generators(config.seed, step, run.accelerator.process_index)
        terms = losses(run, make_batch(run, rng), generator)
        optimise(run, terms)
        step += 1
        if step % t.log_every == 0 or step == t.steps:
            _report(run, step, terms, time.perf_counter() - tick, metrics)
        if step % t.checkpoint_every == 0 or step == t.steps:
            run.accelerator.wait_for_everyone()
            if run.accelerator.is_main_process:
                save_checkpoint(out / "checkpoints", step, run.network, run.optimizer, run.scheduler,
                                t.keep_checkpoints)
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
            out = Path(config.output_dir)
            for path in export_final(run.network, config, out):
                print(f"wrote {path}", flush=True)
            MetricsLog(out).plot()
    if run.probe is not None:
        run.probe.remove()
    run.accelerator.wait_for_everyone()


def train(config: Config, resume: str | bool | None = None, stop_after: int | None = None) -> Path:
    """Train to ``config.train.steps`` (or stop early after ``stop_after`` steps, keeping the checkpoint) and
    write the final model / LoRA into ``config.output_dir``; returns that folder."""
    run = setup(config)
    began = time.perf_counter()
    start, step = fit(run, resume, stop_after)
    finish(run, start, step, time.perf_counter() - began)
    run.accelerator.end_training()
    return Path(config.output_dir)
