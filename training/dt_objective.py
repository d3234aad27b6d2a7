"""DanceTogether objective (SPEC §2.4–2.5) on StableAnimator/SVD: full fine-tuning of the identity-attention UNet,
the MaskPose adapter and the MultiFace encoder with the masked EDM reconstruction loss.

Per sample: the reference frame (CLIP token + noise-augmented, unscaled VAE latent concatenated to every noisy
frame), per-person DWPose maps and body/face masks through the MaskPose adapter (added after ``conv_in``), and the
people's identity tokens. Conditioning dropout as StableAnimator trains it: CLIP and face tokens zeroed when
``r < 2p``, the reference latent when ``p ≤ r < 3p``. The loss weights every person ×2 and faces ×4 (SPEC §2.4).
Identity vectors come per person in stream order (``face_vectors``): the synthetic characters' vectors, or the
ArcFace vectors ``prepare`` stored (zero for a missing face). Batch size 1 (DanceTogether trains 1 clip per GPU).
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..core.errors import InputError
from ..core.losses import masked_reconstruction as mr
from ..core.models.loading import DtypePolicy
from ..core.sampling.stable_animator import clip_image_tokens, encode_reference
from ..core.models.stable_animator.fresh import new_dance_together
from ..core.models.stable_animator.loader import DanceTogetherModel, load_dance_together
from ..core.models.stable_animator.mask_pose import pad_absent_people
from ..core.models.stable_animator.unet import denoise_step
from ..core.render.skeleton import render_per_person
from ..core.sampling.edm import SvdSettings
from ..core.video.output_files import atomic_directory
from .config import Config, trainable_parts
from .dataset import Clip, resize_window
from .face_vectors import clip_faces
from .files import save_safetensors
from .pairs import sample_pair
from .scail2_batch import SampleOptions, pixels
from .scail2_objective import sample_options

PARTS = ("unet", "pose_net", "face_encoder", "svd_folder")
CONDITION_DROPOUT = 0.1  # p of SPEC §2.4


@dataclass(frozen=True)
class DtSample:
    """``reference`` ``(H,W,3)``; ``frames`` ``(T,H,W,3)``; ``pose_maps`` ``(N,T,H,W,3)`` in 0..1; ``body`` and
    ``face`` ``(N,T,H,W)`` masks; ``identities`` ``(N, 512)`` identity vectors, all in stream order."""

    reference: torch.Tensor
    frames: torch.Tensor
    pose_maps: torch.Tensor
    body: torch.Tensor
    face: torch.Tensor
    identities: torch.Tensor

    def to(self, device: torch.device) -> DtSample:
        return DtSample(*(getattr(self, f).to(device) for f in self.__dataclass_fields__))


def dt_sample(clip: Clip, frames: int, width: int, height: int, beta: float, margin: int,
              rng: np.random.Generator) -> DtSample:
    a, b, _ = sample_pair(rng, clip.meta.frames, frames, clip.meta.swap_pairs, beta, margin)
    target = resize_window(clip.window(range(b, b + frames)), width, height)
    reference = resize_window(clip.window([a]), width, height)
    maps = render_per_person(target.poses, width, height)
    identities = clip_faces(clip.meta.path, clip.meta.ids).vectors  # rows in track order, as the pose maps
    return DtSample(pixels(reference.frames)[0], pixels(target.frames), pixels(maps),
                    torch.from_numpy(target.masks).transpose(0, 1).float(),
                    torch.from_numpy(target.face_masks).transpose(0, 1).float(), torch.from_numpy(identities))


TRAINABLE = ("unet", "adapter", "face_encoder")


def _load(config: Config) -> tuple[DanceTogetherModel, bool]:
    """The released parts named in ``model.dance_together``, or fresh ones of ``sizes``; and whether fresh."""
    given = config.model.dance_together or {}
    if config.train.method != "full" or config.train.batch_size != 1:
        raise InputError("model.dance_together", "DanceTogether trains with train.method full and batch_size 1",
                         "set method: full, batch_size: 1")
    if "sizes" in given:
        return new_dance_together(given["sizes"], config.seed), True
    missing = [p for p in PARTS if p not in given]
    if missing:
        raise InputError("model.dance_together", f"needs {', '.join(PARTS)} (missing {missing}) or sizes",
                         "name the StableAnimator/SVD files, or give sizes: {} for fresh tiny networks")
    return load_dance_together(given["unet"], given["pose_net"], given["face_encoder"], given["svd_folder"],
                               DtypePolicy(torch.float32)), False


def trained_parts(config: Config) -> tuple[str, ...]:
    """``model.trainable`` (default: all three, the paper's full fine-tuning)."""
    return trainable_parts(config, TRAINABLE, TRAINABLE, "DanceTogether",
                           "e.g. [adapter] for MaskPose on a frozen UNet")


def dt_batch(options: SampleOptions, clips: list[Clip], rng: np.random.Generator) -> DtSample:
    """One sample (batch size 1) from a clip drawn with ``rng``."""
    o = options
    return dt_sample(clips[int(rng.integers(len(clips)))], o.frames, o.width, o.height, o.swap_probability,
                     o.sample_margin, rng)


class DanceTogetherObjective(nn.Module):
    """``forward(batch, generator)`` → ``{"loss", "reconstruction"}``."""

    def __init__(self, config: Config, device: torch.device) -> None:
        super().__init__()
        self.config = config
        self.parts = trained_parts(config)
        model, self.fresh = _load(config)
        self.unet, self.adapter, self.face_encoder = model.unet, model.adapter, model.face_encoder
        self.vae, self.image_encoder = model.vae.requires_grad_(False), model.image_encoder.requires_grad_(False)
        for name in TRAINABLE:  # frozen parts stay in eval mode (the adapter's BatchNorm keeps its statistics)
            getattr(self, name).train(name in self.parts).requires_grad_(name in self.parts)
        if config.model.gradient_checkpointing:
            self.unet.enable_gradient_checkpointing()
        self.settings = SvdSettings()
        self.options = sample_options(config)

    def make_batch(self, clips: list[Clip], rng: np.random.Generator) -> DtSample:
        return self.batch_maker()(clips, rng)

    def batch_maker(self) -> partial:
        """Batches need no network (pixels, pose maps, masks), so worker processes can build them."""
        return partial(dt_batch, self.options)

    def _conditions(self, batch: DtSample, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Context tokens ``(1, 1+N·K, D)`` and reference latent ``(1, 4, h, w)``, after conditioning dropout."""
        clip = clip_image_tokens(self.image_encoder, batch.reference.cpu()).to(batch.frames.device)
        faces = batch.identities[None].to(batch.frames.dtype)
        context = torch.cat([clip, self.face_encoder.encode_people(faces, clip)], dim=1)
        seed = int(torch.randint(0, 2**31, (1,), generator=generator))
        reference = encode_reference(self.vae, batch.reference.cpu(), self.settings.noise_aug, seed)
        r = float(torch.rand(1, generator=generator))
        context = context * 0 if r < 2 * CONDITION_DROPOUT else context
        reference = reference * 0 if CONDITION_DROPOUT <= r < 3 * CONDITION_DROPOUT else reference
        return context, reference.to(batch.frames.device)

    def forward(self, batch: DtSample, generator: torch.Generator) -> dict[str, torch.Tensor]:
        device = self.unet.conv_in.weight.device
        batch = batch.to(device)
        with torch.no_grad():
            x = batch.frames.permute(0, 3, 1, 2) * 2 - 1
            clean = (self.vae.encode(x).latent_dist.mode() * self.vae.config.scaling_factor)[None]  # (1,T,4,h,w)
        context, reference = self._conditions(batch, generator)
        poses = batch.pose_maps.permute(0, 1, 4, 2, 3) * 2 - 1
        masks = torch.stack([batch.body, batch.face], 2)[:, :, :self.adapter.config.mask_channels]
        poses, masks = pad_absent_people(poses, masks, self.adapter.config.people)
        features = self.adapter(poses, masks)
        sigma = mr.sample_edm_sigma(1, generator).to(device)
        noisy = clean + sigma.reshape(-1, 1, 1, 1, 1) * torch.randn(clean.shape, generator=generator).to(device)
        scaling = mr.edm_scaling(sigma)
        frames = clean.shape[1]
        inputs = torch.cat([scaling.c_in.reshape(-1, 1, 1, 1, 1) * noisy,
                            reference[:, None].expand(-1, frames, -1, -1, -1)], dim=2)
        out = denoise_step(self.unet, inputs, scaling.c_noise, context, self.settings.time_ids().to(device),
                           features)
        weight = mr.person_weight_map(batch.body.transpose(0, 1)[None], batch.face.transpose(0, 1)[None],
                                      tuple(clean.shape[-2:]))
        loss = mr.masked_reconstruction_loss(mr.denoised(out, noisy, sigma), clean, sigma, weight)
        return {"loss": loss, "reconstruction": loss}

    def export(self, out: Path) -> list[Path]:
        """``dance_together/``: ``unet/`` (diffusers folder), ``pose_net.safetensors`` (full MaskPose adapter) and
        ``face_encoder.safetensors`` — what ``load_dance_together`` reads with the unchanged SVD folder (fresh
        runs also write theirs, ``svd/``). Every part is written, trained or frozen, so the folder is complete."""
        folder = Path(out) / "dance_together"
        if folder.exists():
            shutil.rmtree(folder)
        with atomic_directory(folder) as temp:
            self.unet.save_pretrained(temp / "unet", safe_serialization=True)
            save_safetensors(dict(self.adapter.state_dict()), temp / "pose_net.safetensors")
            save_safetensors(dict(self.face_encoder.state_dict()), temp / "face_encoder.safetensors")
            if self.fresh:
                self.vae.save_pretrained(temp / "svd" / "vae", safe_serialization=True)
                self.image_encoder.save_pretrained(temp / "svd" / "image_encoder", safe_serialization=True)
        files = [folder / "unet", folder / "pose_net.safetensors", folder / "face_encoder.safetensors"]
        return files + ([folder / "svd"] if self.fresh else [])

    def close(self) -> None:
        """Nothing to release."""
