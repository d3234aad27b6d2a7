"""EverybodyDance / AnimateAnyone sampling: only how conditioning enters the network lives here (SPEC §1.7).

* Reference: VAE latent of the reference image through the ReferenceNet at t = 0 with the CLIP image embedding as
  cross-attention context, the RefPoseGuider's reference-IEG features added after its ``conv_in``; the result is
  the bank (``ReferenceBank``), computed once per clip. ``ReferenceOptions`` holds the two release details that
  are choices: the CLIP input (``clip_input.py``) and Moore's fp16 rounding of the bank (``update(writer)`` casts
  every entry to float16 even in a float32 run; the golden outputs include it).
* Pose: the PoseGuider is per frame, so its features are computed once per clip and sliced per window (not per
  step and CFG branch).
* Each step: the PoseGuider's features of the window's IEG frames are added after the denoising UNet's ``conv_in``;
  the conditional branch reads the bank and the CLIP embedding, the unconditional branch gets a zero embedding and
  no reference attention (the pose stays in both). CFG, the DDIM solver, seeds and progress are the shared ones;
  long clips run as context windows (``sampling.context_windows``).
* Diagnostic: with masks, the IMG edge weights (``img.py``) of the conditional branch, averaged over windows and
  steps, per matching block.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InputError
from ..models.animate_anyone import img
from ..models.animate_anyone.clip_input import (  # noqa: F401  (re-exported)
    CLIP_INPUT_MODES,
    CLIP_MEAN,
    CLIP_STD,
    clip_pixels,
)
from ..models.animate_anyone.config import LATENT_CHANNELS, VAE_SCALE
from ..models.animate_anyone.loader import AnimateAnyoneModels
from ..models.animate_anyone.reference_attention import ReferenceBank
from ..progress import Progress, no_progress
from .context_windows import ContextSchedule, windowed_prediction
from .ddim import DdimSettings
from .loop import denoise, seeded_noise

DECODE_CHUNK = 8
DEFAULT_SETTINGS = DdimSettings()
DEFAULT_SCHEDULE = ContextSchedule()


@dataclass(frozen=True)
class ReferenceOptions:
    """Release details of the reference encoding; the defaults reproduce ``pipeline_pose2vid.py``.

    ``clip_input``: ``"crop"`` (CLIPImageProcessor: short-edge resize + centre crop) or ``"squash"`` (whole image
    to 224², as ``pipeline_pose2vid_long.py``). ``bank_fp16``: round the bank to float16 as Moore's reader does.
    """

    clip_input: str = "crop"
    bank_fp16: bool = True

    def __post_init__(self) -> None:
        if self.clip_input not in CLIP_INPUT_MODES:
            raise InputError("clip_input", f"{self.clip_input!r} is not a CLIP input mode",
                             f"choose one of {CLIP_INPUT_MODES}")


DEFAULT_REFERENCE = ReferenceOptions()


@dataclass(frozen=True)
class ReferenceEncoding:
    """What the sampler needs from the reference: the bank, the CLIP context ``(1, 1, D)`` and the pixel size."""

    bank: ReferenceBank
    image_embeds: torch.Tensor
    height: int
    width: int


@dataclass(frozen=True)
class MatchingDiagnostic:
    """Masks for the IMG diagnostic: generated ``(T, n, H, W)``, reference ``(m, H, W)``, blocks (SPEC §1.3)."""

    generated_masks: torch.Tensor
    reference_masks: torch.Tensor
    blocks: tuple[str, ...]


@dataclass(frozen=True)
class SampleResult:
    """Latents ``(1, 4, T, h, w)`` (scaled) and, with a diagnostic, ``{block: (T, n, m)}`` edge weights."""

    latents: torch.Tensor
    edge_weights: dict[str, torch.Tensor]


@contextmanager
def added_after_conv_in(unet: nn.Module, features: torch.Tensor) -> Iterator[None]:
    """Add ``features`` to the output of ``unet.conv_in`` (where AnimateAnyone injects pose guidance)."""
    handle = unet.conv_in.register_forward_hook(lambda _m, _i, out: out + features.to(out.dtype))
    try:
        yield
    finally:
        handle.remove()


def check_image(image: torch.Tensor, input_name: str, multiple: int) -> torch.Tensor:
    """``(N, H, W, 3)`` float 0..1 with sides divisible by ``multiple``; returns it as ``(N, 3, H, W)``."""
    if image.dim() == 3:
        image = image.unsqueeze(0)
    if image.dim() != 4 or image.shape[-1] != 3 or image.shape[0] == 0:
        raise InputError(input_name, f"expected RGB frames (N, H, W, 3), got shape {tuple(image.shape)}",
                         "connect an IMAGE")
    height, width = image.shape[1:3]
    if height % multiple or width % multiple:
        raise InputError(input_name, f"{width}x{height} is not a multiple of {multiple}",
                         f"resize or crop to a multiple of {multiple} pixels (e.g. 768x512)")
    return image.permute(0, 3, 1, 2).float()


def size_multiple(models: AnimateAnyoneModels) -> int:
    """Pixels must divide by the VAE factor times the UNet's downsampling (64 for SD1.5)."""
    return models.config.vae_downscale * 2 ** (len(models.config.block_out_channels) - 1)


def vae_encode(models: AnimateAnyoneModels, pixels: torch.Tensor) -> torch.Tensor:
    """``(N, 3, H, W)`` 0..1 → scaled latent means ``(N, 4, h, w)`` (Moore uses the posterior mean)."""
    x = (pixels * 2 - 1).to(models.device, models.dtype)
    return models.vae.encode(x).latent_dist.mean.float() * VAE_SCALE


@torch.no_grad()
def vae_decode(models: AnimateAnyoneModels, latents: torch.Tensor, progress: Progress = no_progress) -> torch.Tensor:
    """Scaled latents ``(1, 4, T, h, w)`` → frames ``(T, H, W, 3)`` float 0..1, a few frames at a time."""
    frames = latents[0].permute(1, 0, 2, 3)
    out = []
    for start in range(0, frames.shape[0], DECODE_CHUNK):
        chunk = (frames[start: start + DECODE_CHUNK] / VAE_SCALE).to(models.device, models.dtype)
        out.append(((models.vae.decode(chunk).sample.float() + 1) / 2).clamp(0, 1).permute(0, 2, 3, 1).cpu())
        progress(min(start + DECODE_CHUNK, frames.shape[0]), frames.shape[0])
    return torch.cat(out)


@torch.no_grad()
def encode_reference(models: AnimateAnyoneModels, image: torch.Tensor, ieg: torch.Tensor | None,
                     options: ReferenceOptions = DEFAULT_REFERENCE) -> ReferenceEncoding:
    """Run the ReferenceNet once on the reference image (``(H, W, 3)``) with its identity skeleton ``ieg``."""
    if ieg is None:
        raise InputError("reference_ieg", "the reference identity skeleton (IEG) is missing",
                         "connect the reference IEG image, or the reference poses together with the characters")
    multiple = size_multiple(models)
    pixels = check_image(image, "reference_image", multiple)[:1]
    skeleton = check_image(ieg, "reference_ieg", multiple)[:1]
    if skeleton.shape[-2:] != pixels.shape[-2:]:
        raise InputError("reference_ieg", f"size {tuple(skeleton.shape[-2:])} differs from the reference image "
                         f"{tuple(pixels.shape[-2:])}", "render the reference IEG at the reference image's size")
    latents = vae_encode(models, pixels)
    embeds = models.image_encoder(clip_pixels(pixels.to(models.device), models.config.clip_image_size,
                                              options.clip_input).to(models.dtype)).image_embeds.unsqueeze(1)
    ref_pose = models.ref_pose_guider(skeleton.to(models.device, models.dtype))
    timestep = torch.zeros(1, device=models.device)
    with models.writer.record() as bank, added_after_conv_in(models.reference_unet, ref_pose):
        models.reference_unet(latents.to(models.dtype), timestep, encoder_hidden_states=embeds)
    features = {k: v.half() if options.bank_fp16 else v for k, v in bank.items()}
    return ReferenceEncoding(ReferenceBank(features), embeds, pixels.shape[-2], pixels.shape[-1])


class _EdgeWeightSum:
    """Running per-frame sums of edge weights over windows and steps."""

    def __init__(self, diagnostic: MatchingDiagnostic, frames: int, latent_hw: tuple[int, int]) -> None:
        self.diagnostic, self.latent_hw = diagnostic, latent_hw
        n, m = diagnostic.generated_masks.shape[1], diagnostic.reference_masks.shape[0]
        self.sums = {b: torch.zeros(frames, n, m) for b in diagnostic.blocks}
        self.counts = torch.zeros(frames)

    def add(self, models: AnimateAnyoneModels, bank: ReferenceBank, captured: dict[str, torch.Tensor],
            window: list[int]) -> None:
        gen = self.diagnostic.generated_masks[window].to(models.device)
        ref = self.diagnostic.reference_masks.unsqueeze(0).to(models.device)
        for block in self.diagnostic.blocks:
            weights = img.block_edge_weights(models.reader.projections(block), captured[block],
                                             bank.features[block], self.latent_hw, gen, ref)
            self.sums[block][window] += weights.float().cpu()
        self.counts[window] += 1

    def mean(self) -> dict[str, torch.Tensor]:
        return {b: s / self.counts.clamp_min(1).view(-1, 1, 1) for b, s in self.sums.items()}


def check_pose_video(models: AnimateAnyoneModels, encoding: ReferenceEncoding, pose_video: torch.Tensor,
                     schedule: ContextSchedule) -> torch.Tensor:
    pixels = check_image(pose_video, "pose_video", size_multiple(models))
    if tuple(pixels.shape[-2:]) != (encoding.height, encoding.width):
        raise InputError("pose_video", f"frames are {pixels.shape[-1]}x{pixels.shape[-2]} but the reference is "
                         f"{encoding.width}x{encoding.height}", "render the pose video at the reference's size")
    if schedule.frames > models.config.motion_max_frames:
        raise InputError("context_frames", f"{schedule.frames} frames exceed the motion modules' "
                         f"{models.config.motion_max_frames} positions", "use at most "
                         f"{models.config.motion_max_frames} (24 is the default)")
    return pixels


def check_diagnostic(diagnostic: MatchingDiagnostic, frames: int, size: tuple[int, int]) -> None:
    gen, ref = diagnostic.generated_masks, diagnostic.reference_masks
    if gen.dim() != 4 or gen.shape[0] != frames or tuple(gen.shape[2:]) != size:
        raise InputError("generated_masks", f"expected ({frames}, n, {size[0]}, {size[1]}), got {tuple(gen.shape)}",
                         "use masks of the driving characters rendered at the pose video's size")
    if ref.dim() != 3 or tuple(ref.shape[1:]) != size:
        raise InputError("reference_masks", f"expected (m, {size[0]}, {size[1]}), got {tuple(ref.shape)}",
                         "use the characters' reference masks at the reference image's size")


def pose_features(models: AnimateAnyoneModels, pixels: torch.Tensor, chunk: int) -> torch.Tensor:
    """PoseGuider features ``(T, C, h, w)`` of every IEG frame (``(T, 3, H, W)``), ``chunk`` frames per call."""
    parts = [models.pose_guider(pixels[start: start + chunk].to(models.device, models.dtype))
             for start in range(0, pixels.shape[0], chunk)]
    return torch.cat(parts)


def denoise_window(models: AnimateAnyoneModels, sample: torch.Tensor, timestep: torch.Tensor, context: torch.Tensor,
                   pose: torch.Tensor, bank: ReferenceBank | None, capture: tuple[str, ...] = ()
                   ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """One denoising-UNet call: ``sample`` ``(B, 4, F, h, w)``, ``context`` ``(B·F, 1, D)``, ``pose`` ``(B·F, C,
    h, w)`` added after ``conv_in``; reads ``bank`` (None: the unconditional branch, self-attention only)."""
    with added_after_conv_in(models.denoising_unet, pose), models.reader.reading(bank, capture) as captured:
        out = models.denoising_unet(sample.to(models.dtype), timestep, encoder_hidden_states=context).sample
    return out.float(), captured


@torch.no_grad()
def sample_video(models: AnimateAnyoneModels, encoding: ReferenceEncoding, pose_video: torch.Tensor,
                 settings: DdimSettings = DEFAULT_SETTINGS, schedule: ContextSchedule = DEFAULT_SCHEDULE,
                 diagnostic: MatchingDiagnostic | None = None, progress: Progress = no_progress) -> SampleResult:
    """Denoise a clip driven by ``pose_video`` (``(T, H, W, 3)`` IEG frames, 0..1) from seeded noise."""
    pixels = check_pose_video(models, encoding, pose_video, schedule)
    frames, scale = pixels.shape[0], models.config.vae_downscale
    latent_hw = (encoding.height // scale, encoding.width // scale)
    if diagnostic is not None:
        check_diagnostic(diagnostic, frames, (encoding.height, encoding.width))
    weights = _EdgeWeightSum(diagnostic, frames, latent_hw) if diagnostic else None
    solver = settings.make_solver(models.device)
    bank = encoding.bank.to(models.device, models.dtype)
    embeds = encoding.image_embeds.to(models.device, models.dtype)
    steps = {float(t): i for i, t in enumerate(solver.timesteps)}

    pose = pose_features(models, pixels, schedule.frames)

    def predict(sample: torch.Tensor, timestep: torch.Tensor, positive: bool) -> torch.Tensor:
        def window_prediction(window_sample: torch.Tensor, window: list[int]) -> torch.Tensor:
            capture = diagnostic.blocks if (weights is not None and positive) else ()
            context = (embeds if positive else torch.zeros_like(embeds)).repeat_interleave(len(window), 0)
            out, captured = denoise_window(models, window_sample, timestep[:1], context, pose[window],
                                           bank if positive else None, capture)
            if capture:
                weights.add(models, bank, captured, window)  # type: ignore[union-attr]
            return out

        return windowed_prediction(window_prediction, sample, steps[float(timestep[0])], schedule)

    noise = seeded_noise((1, LATENT_CHANNELS, frames) + latent_hw, settings.seed, models.device)
    latents = denoise(predict, noise, solver, settings.guidance, progress=progress)
    return SampleResult(latents, weights.mean() if weights else {})
