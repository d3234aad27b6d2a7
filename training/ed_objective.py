"""EverybodyDance objective (SPEC §1.4–1.6) on the AnimateAnyone backbone of ``core.models.animate_anyone``.

ReferenceNet writes the reference bank (its conv_in plus the RefPoseGuider's reference-IEG features); the denoising
UNet, with the PoseGuider's target-IEG features after its conv_in, reads the bank and predicts v for the target
frames. Loss: min-SNR-weighted v-prediction on the zero-SNR schedule, plus λ·IMG from the captured self-attention
inputs of the matching blocks (§1.3). With probability ``reference_dropout`` a batch is trained unconditionally
(zero CLIP, no bank: the CFG branch) and then carries no matching loss.

Stages (``model.trainable``, the AnimateAnyone recipe the paper fine-tunes with):
* stage 1 (default): ReferenceNet, the denoising UNet's spatial layers, PoseGuider and RefPoseGuider on one target
  frame; motion modules frozen.
* stage 2 (``[motion_modules]``): only the motion modules, on ``data.frames``-frame windows of multi-character
  clips; everything else frozen. IMG is then logged for monitoring only (SPEC §1.6: the spatial weights it is
  defined on are frozen), so the loss is the diffusion term alone.
"""
from __future__ import annotations

import dataclasses
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..core.errors import InputError
from ..core.losses import v_prediction as vp
from ..core.losses.img_loss import MatchingScore, matching_loss
from ..core.models.animate_anyone import img, keys
from ..core.models.animate_anyone.config import AnimateAnyoneConfig
from ..core.models.animate_anyone.export import save_release
from ..core.models.animate_anyone.loader import AnimateAnyoneFiles, load_animate_anyone, new_models
from ..core.models.animate_anyone.reference_attention import ReferenceBank
from ..core.sampling.animate_anyone import added_after_conv_in, clip_pixels, vae_encode
from .config import Config, trainable_parts
from .dataset import Clip
from .ed_batch import EdSample, collate_ed, ed_sample
from .scail2_batch import SampleOptions
from .scail2_objective import sample_options

TIMESTEPS = 1000
STAGE1 = ("reference_unet", "denoising_unet", "pose_guider", "ref_pose_guider")
MOTION = "motion_modules"
PARTS = (*STAGE1, MOTION)
RELEASE_FILES = ("reference_unet", "denoising_unet", "motion_module", "pose_guider", "vae", "image_encoder")


def load_models(config: Config):
    """A Moore-layout release folder (``model.checkpoint``) or fresh networks of ``model.animate_anyone`` sizes."""
    if config.train.method != "full":
        raise InputError("train.method", "everybody_dance trains its networks fully (stage 1)",
                         "set train.method: full")
    folder = config.model.checkpoint
    if folder is None:
        torch.manual_seed(config.seed)
        try:
            sizes = AnimateAnyoneConfig.from_dict(config.model.animate_anyone or {})
        except (TypeError, ValueError) as err:
            raise InputError("model.animate_anyone", str(err), "use AnimateAnyoneConfig field names and sizes "
                             "(block_out_channels, layers_per_block, …)") from err
        return new_models(sizes)
    paths = {name: Path(folder) / f"{name}.safetensors" for name in RELEASE_FILES}
    missing = [p.name for p in paths.values() if not p.is_file()]
    if missing:
        raise InputError("model.checkpoint", f"'{folder}' lacks {', '.join(missing)}",
                         "point at a folder written by a previous everybody_dance run (or Moore's release)")
    ref_pose = Path(folder) / "ref_pose_guider.safetensors"
    files = AnimateAnyoneFiles(**paths, ref_pose_guider=ref_pose if ref_pose.is_file() else None)
    return load_animate_anyone(files, dtype=torch.float32)


def trained_parts(config: Config) -> tuple[str, ...]:
    """``model.trainable`` (default: stage 1)."""
    return trainable_parts(config, PARTS, STAGE1, "EverybodyDance",
                           f"stage 1: the first four, stage 2: {MOTION}")


def ed_batch(options: SampleOptions, batch_size: int, clips: list[Clip], rng: np.random.Generator,
             frames: int = 1) -> EdSample:
    """``batch_size`` samples of ``frames`` target frames (1 in stage 1) from clips drawn with ``rng``."""
    picks = rng.integers(len(clips), size=batch_size)
    return collate_ed([ed_sample(clips[i], options, rng, frames) for i in picks])


class EverybodyDanceObjective(nn.Module):
    """``forward(batch, generator)`` → ``{"loss", "diffusion", "img"}`` for one batch of the configured stage."""

    def __init__(self, config: Config, device: torch.device) -> None:
        super().__init__()
        self.config = config
        self.parts = trained_parts(config)
        self.models = load_models(config)
        m = self.models
        self.reference_unet, self.denoising_unet = m.reference_unet.train(), m.denoising_unet.train()
        self.pose_guider, self.ref_pose_guider = m.pose_guider.train(), m.ref_pose_guider.train()
        self.vae, self.image_encoder = m.vae.requires_grad_(False), m.image_encoder.requires_grad_(False)
        for name in ("reference_unet", "pose_guider", "ref_pose_guider"):
            getattr(self, name).requires_grad_(name in self.parts)
        for name, p in self.denoising_unet.named_parameters():
            p.requires_grad_((MOTION if keys.is_motion_key(name) else "denoising_unet") in self.parts)
        self.video = MOTION in self.parts  # stage 2 trains on clips, stage 1 on single frames
        if self.video and config.data.frames > m.config.motion_max_frames:
            raise InputError("data.frames", f"{config.data.frames} frames exceed the motion modules' "
                             f"{m.config.motion_max_frames} positions", f"use at most {m.config.motion_max_frames}")
        self.img_trains = any(part in self.parts for part in STAGE1)
        if config.model.gradient_checkpointing:
            raise InputError("model.gradient_checkpointing", "everybody_dance cannot recompute blocks in backward: "
                             "reference attention is switched on only during the forward pass",
                             "set gradient_checkpointing: false (or lower the resolution / batch)")
        self.blocks = img.matching_blocks(m.config, config.losses.img.matching_layers)
        self.register_buffer("alphas_cumprod", vp.zero_snr_alphas_cumprod().float(), persistent=False)
        self.options = sample_options(config)
        self.models = dataclasses.replace(m, device=device, dtype=torch.float32)

    def make_batch(self, clips: list[Clip], rng: np.random.Generator) -> EdSample:
        return self.batch_maker()(clips, rng)

    def batch_maker(self) -> partial:
        """Batches need no network (pixels, skeletons, masks), so worker processes can build them."""
        frames = self.config.data.frames if self.video else 1
        return partial(ed_batch, self.options, self.config.train.batch_size, frames=frames)

    def _reference_bank(self, batch: EdSample, embeds: torch.Tensor, latents: torch.Tensor) -> ReferenceBank:
        ref_pose = self.ref_pose_guider(batch.reference_ieg.permute(0, 3, 1, 2))
        with self.models.writer.record() as bank, added_after_conv_in(self.reference_unet, ref_pose):
            self.reference_unet(latents, torch.zeros(latents.shape[0], device=latents.device),
                                encoder_hidden_states=embeds)
        return ReferenceBank(dict(bank))

    def forward(self, batch: EdSample, generator: torch.Generator) -> dict[str, torch.Tensor]:
        device = self.alphas_cumprod.device
        batch, m, losses = batch.to(device), self.models, self.config.losses
        b, frames = batch.reference.shape[0], batch.target.shape[0] // batch.reference.shape[0]
        with torch.no_grad():
            ref_latent = vae_encode(m, batch.reference.permute(0, 3, 1, 2))
            target = vae_encode(m, batch.target.permute(0, 3, 1, 2))  # (B·F, 4, h, w), batch-major
            target = target.unflatten(0, (b, frames)).transpose(1, 2)  # (B, 4, F, h, w)
            embeds = m.image_encoder(clip_pixels(batch.reference.permute(0, 3, 1, 2), m.config.clip_image_size)
                                     ).image_embeds.unsqueeze(1)
        conditioned = float(torch.rand(1, generator=generator)) >= losses.diffusion.reference_dropout
        embeds = embeds if conditioned else torch.zeros_like(embeds)
        bank = self._reference_bank(batch, embeds, ref_latent) if conditioned else None
        t = torch.randint(0, TIMESTEPS, (b,), generator=generator)
        noise = vp.offset_noise(tuple(target.shape), generator, losses.diffusion.noise_offset).to(device)
        x_t, v = vp.noisy_and_target(target, noise, self.alphas_cumprod, t.to(device))
        capture = self.blocks if (conditioned and losses.img.weight > 0) else ()
        pose = self.pose_guider(batch.target_ieg.permute(0, 3, 1, 2))
        context = embeds.repeat_interleave(frames, 0)
        with added_after_conv_in(self.denoising_unet, pose), m.reader.reading(bank, capture) as captured:
            prediction = self.denoising_unet(x_t, t.to(device), encoder_hidden_states=context).sample
        terms = {"diffusion": vp.v_prediction_loss(prediction, v, vp.snr(self.alphas_cumprod.double(), t),
                                                   losses.diffusion.min_snr_gamma)}
        if capture and not self.img_trains:  # stage 2: IMG only monitors the frozen spatial layers
            with torch.no_grad():
                terms["img"] = self._matching(batch, bank, captured, target.shape[-2:])
        else:
            terms["img"] = self._matching(batch, bank, captured, target.shape[-2:]) if capture else v.new_zeros(())
        img_weight = losses.img.weight if self.img_trains else 0.0
        terms["loss"] = terms["diffusion"] + img_weight * terms["img"]
        return terms

    def _matching(self, batch: EdSample, bank: ReferenceBank, captured: dict[str, torch.Tensor],
                  latent_hw: torch.Size) -> torch.Tensor:
        """L_match over the matching blocks (SPEC §1.4) and every target frame; frames whose reference has < 2
        characters excluded."""
        frames = batch.gen_masks.shape[0] // batch.ref_masks.shape[0]
        enough = (batch.ref_masks.flatten(2).any(-1).sum(-1) >= 2).repeat_interleave(frames)
        match = batch.match.repeat_interleave(frames, 0)
        scores = []
        for block in self.blocks:
            weights = img.block_edge_weights(self.models.reader.projections(block), captured[block],
                                             bank.features[block], tuple(latent_hw), batch.gen_masks,
                                             batch.ref_masks)
            present = batch.gen_masks.flatten(2).any(-1)
            score, valid = img.ic_score(weights, torch.where(present, match, -1))
            scores.append(MatchingScore(score, valid & enough))
        return matching_loss(scores, self.config.losses.img.variant)

    def export(self, out: Path) -> list[Path]:
        files = save_release(self.models, Path(out) / "everybody_dance")
        return [p for p in files.__dict__.values() if p is not None]

    def close(self) -> None:
        """Nothing to release: reference attention stays installed for the exported networks' users."""
