"""SCAIL-2 training objective: flow matching with clean history frames excluded (SPEC §3.4), optionally plus
λ·IMG on the Wan self-attention (video → reference tokens, §1.2–1.4; off by default: not SCAIL-2's recipe).

History latents as SCAIL-2 trains them (§4.1, following Wan-Animate): with probability
``losses.flow.history_probability`` the first 2 latent frames are replaced by their clean latents, flagged by the
history mask, and left out of the loss. Each batch has one mode (animation / replacement, ``data.
replacement_probability``), text and CLIP-image tokens as at inference (``training.prompts``). A module, so
``accelerate``/DDP/FSDP wrap the whole loss."""
from __future__ import annotations

import dataclasses
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..core.losses import flow_matching as fm
from ..core.losses.img_loss import matching_loss
from ..core.models.pixel_codec import PixelCodec
from ..core.models.scail2 import Scail2Context
from .codecs import make_codec
from .config import Config
from .dataset import Clip
from .exports import export_final
from .lora import add_lora
from .model import build_model, empty_prompt
from .prompts import TrainingPrompt
from .scail2_batch import SampleOptions, Scail2Sample, clip_sample, collate, pick_clips, pick_mode, prompted
from .synthetic_stream import SyntheticStream, stream_batch
from .wan_img import WanMatchingProbe, default_blocks

WAN_TIMESTEP_SCALE = 1000.0  # Wan's network takes t = σ·1000


def sample_options(config: Config) -> SampleOptions:
    d = config.data
    return SampleOptions(d.frames, d.width, d.height, d.swap_probability, d.sample_margin, d.permute_slots,
                         d.bone_scaling_probability, d.replacement_probability, d.rgb_driving_probability,
                         d.driving_crop_probability)


def reference_keep(batch: int, generator: torch.Generator, probability: float) -> torch.Tensor | None:
    """``(B,)`` 1 where a sample keeps its reference, 0 where it is blanked (``data.reference_dropout``).

    Why: a small network trained from scratch finds the reference the easy way to lower the loss (copy its layout:
    RoPE makes same-position reference tokens cheap to read) and never learns to attend to the driving tokens,
    which sit 120 columns away in RoPE space. Without a reference, where the people are can only come from the
    driving video. ``probability`` 0 draws nothing (earlier runs stay bit-identical) and returns None."""
    if probability <= 0:
        return None
    return (torch.rand(batch, generator=generator) >= probability).float()


def blank_references(context: Scail2Context, keep: torch.Tensor | None) -> Scail2Context:
    """``context`` with the reference image and slot mask zeroed where ``keep`` is 0."""
    if keep is None or context.reference is None:
        return context
    k = keep.to(context.reference.device).reshape(-1, 1, 1, 1, 1)
    return dataclasses.replace(context, reference=context.reference * k.to(context.reference.dtype),
                               reference_mask=context.reference_mask * k.to(context.reference_mask.dtype))


class Scail2Objective(nn.Module):
    """``forward(batch, generator)`` → loss terms; owns the transformer (and its LoRA) and the IMG probe."""

    def __init__(self, config: Config, device: torch.device) -> None:
        super().__init__()
        self.config = config
        self.transformer = build_model(config.model, config.seed)
        if config.train.method in ("lora", "dpo"):
            add_lora(self.transformer, config.lora.targets, config.lora.rank, config.lora.alpha)
        img = config.losses.img
        self.probe = None
        if img.weight > 0:
            blocks = list(img.blocks) if img.blocks else default_blocks(len(self.transformer.blocks))
            self.probe = WanMatchingProbe(self.transformer, blocks, img.mask_resize)
        self.codec = make_codec(config.model.vae, device)
        self.options = sample_options(config)
        arch = self.transformer.config
        self.prompt = TrainingPrompt(config, arch.text_dim, arch.image_dim, device)
        stream = config.data.stream
        self.stream = None if stream is None else SyntheticStream(stream, self.options, self.codec)

    def conditioned(self, sample: Scail2Sample, rng: np.random.Generator, clip: Clip) -> Scail2Sample:
        """``sample`` with its text and CLIP tokens (as the sampler passes them at inference)."""
        return prompted(self.prompt, sample, rng, clip.meta.path)

    def batch_maker(self) -> partial | None:
        """On-the-fly scenes need no network when the codec is the pixel codec and there is no CLIP encoder, so
        worker processes can build them (``data.workers``); clips are read on the loader thread."""
        if self.stream is None or self.prompt.encoder is not None or not isinstance(self.codec, PixelCodec):
            return None
        return partial(stream_batch, self.stream, self.prompt, self.config.train.batch_size)

    def make_batch(self, clips: list[Clip], rng: np.random.Generator) -> Scail2Sample:
        if self.stream is not None:
            return stream_batch(self.stream, self.prompt, self.config.train.batch_size, clips, rng)
        mode = pick_mode(rng, clips, self.options.replacement_probability)
        picks = pick_clips(rng, clips, mode, self.config.train.batch_size)
        with torch.no_grad():
            return collate([self.conditioned(clip_sample(clips[i], self.codec, self.options, rng), rng, clips[i])
                            for i in picks])

    def tokens(self, batch: Scail2Sample, device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Text ``(B, 512, C)`` and image tokens of a batch (zeros where it carries none)."""
        text, image = empty_prompt(self.transformer, batch.latent.shape[0], device)
        if batch.text is not None:
            text = batch.text.to(device)
        if batch.image is not None:
            image = batch.image.to(device)
        return text, image

    def forward(self, batch: Scail2Sample, generator: torch.Generator) -> dict[str, torch.Tensor]:
        device = self.transformer.patch_embedding.weight.device
        batch = batch.to(device)
        x0 = batch.latent
        b, _, f, h, w = x0.shape
        noise = torch.randn(x0.shape, generator=generator).to(device)
        flow = self.config.losses.flow
        sigma = fm.sample_sigma(b, h * w // 4, generator)
        sigma = fm.with_low_noise(sigma, generator, flow.low_noise_probability, flow.low_noise_max).to(device)
        history = fm.history_frame_count(generator, True, f, flow.history_probability)
        given = fm.perturbed_history(x0, history, generator, flow.history_noise)
        x_t = fm.with_history(fm.noisy_latent(x0, noise, sigma), given, history)
        keep = reference_keep(b, generator, self.config.data.reference_dropout)
        context = blank_references(dataclasses.replace(batch.context, history_frames=history), keep)
        text, image = self.tokens(batch, device)
        if self.probe is not None:
            self.probe.clear()
        prediction = self.transformer(x_t, sigma * WAN_TIMESTEP_SCALE, text, image, context=context)
        weight = None
        if flow.person_weight > 0:
            weight = fm.person_loss_weight(batch.gen_masks, (h, w), flow.person_weight)
        terms = {"flow": fm.flow_matching_loss(prediction, fm.velocity_target(x0, noise), history, weight=weight)}
        terms["loss"] = terms["flow"]
        if self.probe is not None:
            ref_masks = batch.ref_masks if keep is None else batch.ref_masks * keep.to(device).reshape(-1, 1, 1, 1)
            scores = self.probe.scores(x0.shape, batch.gen_masks, ref_masks, batch.match)  # blanked: no valid frame
            terms["img"] = matching_loss(scores, self.config.losses.img.variant)
            terms["loss"] = terms["loss"] + self.config.losses.img.weight * terms["img"]
        return terms

    def export(self, out: Path) -> list[Path]:
        return export_final(self.transformer, self.config, out)

    def close(self) -> None:
        if self.probe is not None:
            self.probe.remove()
