"""How DanceTogether's conditioning enters the shared SVD/EDM sampler (SPEC §2.1, §2.6).

Positive branch: CLIP image token + N·K identity tokens, the reference latent, and MaskPose features added after
``conv_in``. Negative branch: zero tokens, zero reference latent and no adapter features (StableAnimator's
inference pipeline). Adapter features are per frame, so they are computed once for the whole video and sliced
per tile.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..errors import InputError
from ..models.stable_animator.face_encoder import FACE_EMBEDDING_DIM
from ..models.stable_animator.loader import DanceTogetherModel
from ..models.stable_animator.mask_pose import pad_absent_people
from ..models.stable_animator.unet import denoise_step, downsample_factor
from ..progress import Progress, no_progress
from .edm import SvdSettings, sample_svd
from .loop import seeded_noise

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
VAE_DOWNSAMPLE = 8
DECODE_CHUNK = 4  # SPEC §2.6


@dataclass(frozen=True)
class MaskPoseVideo:
    """Pixel-space inputs, people in stream order (left to right in the reference, SPEC §2.3).

    ``reference`` ``(H, W, 3)`` and ``pose_maps`` ``(N, T, H, W, 3)`` in 0..1 (per-person DWPose renders, black
    where a person is absent); ``masks`` ``(N, T, H, W)`` body masks in 0..1 (``(N, T, 2, H, W)`` for
    [body, face]); ``faces`` ``(N, 512)`` ArcFace vectors, a zero row for a missing face.
    """

    reference: torch.Tensor
    pose_maps: torch.Tensor
    masks: torch.Tensor
    faces: torch.Tensor

    def __post_init__(self) -> None:
        if self.reference.ndim != 3 or self.reference.shape[2] != 3:
            raise InputError("reference_image", f"has shape {tuple(self.reference.shape)}, not one RGB image",
                             "connect a single image")
        if self.pose_maps.ndim != 5 or self.pose_maps.shape[-1] != 3:
            raise InputError("pose_maps", f"has shape {tuple(self.pose_maps.shape)}; expected (people, frames, H, "
                             "W, 3)", "render one pose map per person and frame")
        people, frames, height, width = self.pose_maps.shape[:4]
        if self.masks.ndim not in (4, 5) or tuple(self.masks.shape[:2]) != (people, frames):
            raise InputError("masks", f"cover {tuple(self.masks.shape[:2])} (people, frames) but the pose maps "
                             f"{(people, frames)}", "use masks tracked for the same people and frames")
        if tuple(self.masks.shape[-2:]) != (height, width) or tuple(self.reference.shape[:2]) != (height, width):
            raise InputError("masks" if tuple(self.masks.shape[-2:]) != (height, width) else "reference_image",
                             f"size {tuple(self.masks.shape[-2:])} / reference {tuple(self.reference.shape[:2])} "
                             f"differ from the pose maps' {(height, width)}", "resize every input to one size")
        if tuple(self.faces.shape) != (people, FACE_EMBEDDING_DIM):
            raise InputError("face_embeds", f"has shape {tuple(self.faces.shape)}, expected ({people}, "
                             f"{FACE_EMBEDDING_DIM}): one ArcFace vector per person",
                             "embed each person's face (a zero vector for a missing face)")

    @property
    def frames(self) -> int:
        return self.pose_maps.shape[1]


def svd_resize(pixels: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """SVD's CLIP resize (``_resize_with_antialiasing`` of its pipeline): a Gaussian blur with σ = (factor − 1)/2
    per axis (reflect borders, odd kernel ≥ 3 wide), then bicubic with ``align_corners=True``."""
    from kornia.filters import gaussian_blur2d

    factors = (pixels.shape[-2] / size[0], pixels.shape[-1] / size[1])
    sigmas = tuple(max((f - 1.0) / 2.0, 0.001) for f in factors)
    kernel = tuple((k + 1 if k % 2 == 0 else k) for k in (int(max(4.0 * s, 3)) for s in sigmas))
    blurred = gaussian_blur2d(pixels, kernel, sigmas, border_type="reflect")
    return F.interpolate(blurred, size=size, mode="bicubic", align_corners=True)


def clip_image_tokens(image_encoder: torch.nn.Module, reference: torch.Tensor) -> torch.Tensor:
    """``(1, 1, D)``: the CLIP image embedding of the reference at the encoder's input size.

    As StableAnimator's pipeline: the image in −1..1 through ``svd_resize``, back to 0..1 (no clamp), CLIP
    mean/std (golden-tested).
    """
    size = image_encoder.config.image_size
    param = next(image_encoder.parameters())
    pixels = reference.permute(2, 0, 1)[None].float() * 2 - 1
    pixels = (svd_resize(pixels, (size, size)) + 1) / 2
    mean, std = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1), torch.tensor(CLIP_STD).view(1, 3, 1, 1)
    pixels = ((pixels - mean) / std).to(param.device, param.dtype)
    with torch.no_grad():
        return image_encoder(pixel_values=pixels).image_embeds.float().unsqueeze(1)


def encode_reference(vae: torch.nn.Module, reference: torch.Tensor, noise_aug: float, seed: int,
                     noise: torch.Tensor | None = None) -> torch.Tensor:
    """``(1, 4, h, w)``: the noise-augmented reference's latent mode, *not* scaled (SVD conditioning).

    ``noise``: the augmentation noise ``(1, 3, H, W)`` (default: drawn from ``seed + 1``).
    """
    param = next(vae.parameters())
    pixels = reference.permute(2, 0, 1)[None].float() * 2 - 1
    noise = seeded_noise(tuple(pixels.shape), seed + 1) if noise is None else noise.float()
    pixels = pixels + noise_aug * noise.to(pixels.device)
    with torch.no_grad():
        return vae.encode(pixels.to(param.device, param.dtype)).latent_dist.mode().float()


def adapter_features(model: DanceTogetherModel, video: MaskPoseVideo) -> torch.Tensor:
    """``(T, C, h, w)`` MaskPose features; fewer people than the adapter holds are padded as absent."""
    people = model.adapter.config.people
    if video.pose_maps.shape[0] > people:
        raise InputError("pose_maps", f"has {video.pose_maps.shape[0]} people; this MaskPose adapter was built for "
                         f"at most {people}", f"select the {people} main people (or load an adapter for more)")
    masks = video.masks if video.masks.ndim == 5 else video.masks.unsqueeze(2)
    if masks.shape[2] != model.adapter.config.mask_channels:
        raise InputError("masks", f"have {masks.shape[2]} channel(s); the adapter reads "
                         f"{model.adapter.config.mask_channels}", "give body masks (and face masks for 2 channels)")
    param = model.adapter.integrate.weight
    poses = video.pose_maps.permute(0, 1, 4, 2, 3).float() * 2 - 1
    poses, masks = pad_absent_people(poses, masks.float(), people)
    with torch.no_grad():
        return model.adapter(poses.to(param.device, param.dtype), masks.to(param.device, param.dtype)).float()


def check_size(model: DanceTogetherModel, video: MaskPoseVideo) -> None:
    multiple = VAE_DOWNSAMPLE * downsample_factor(model.unet)
    height, width = video.pose_maps.shape[2:4]
    if height % multiple or width % multiple:
        raise InputError("reference_image", f"is {width}x{height}; this UNet needs multiples of {multiple}",
                         "resize or crop, e.g. to 512x512 or 576x1024")


def check_widths(model: DanceTogetherModel) -> None:
    """The CLIP embedding and the face tokens must both be as wide as the UNet's cross-attention."""
    width = model.unet.config.cross_attention_dim
    clip = model.image_encoder.config.projection_dim
    if clip != width:
        raise InputError("svd_folder", f"its image encoder gives {clip}-wide embeddings, the UNet reads {width}",
                         "use the image encoder of the same SVD release as the UNet")
    if model.face_encoder.config.width != width:
        raise InputError("face_encoder", f"gives {model.face_encoder.config.width}-wide tokens, the UNet reads {width}",
                         "use the face encoder released with this UNet")


def generate_latents(model: DanceTogetherModel, video: MaskPoseVideo, settings: SvdSettings = SvdSettings(),
                     progress: Progress = no_progress) -> torch.Tensor:
    """The denoised latent video ``(1, T, 4, h, w)`` (unscaled, ready for ``decode_latents``)."""
    check_size(model, video)
    check_widths(model)
    device = model.device
    clip = clip_image_tokens(model.image_encoder, video.reference)
    param = next(model.face_encoder.parameters())
    with torch.no_grad():
        faces = model.face_encoder.encode_people(video.faces[None].to(param.device, param.dtype),
                                                 clip.to(param.device, param.dtype)).float()
    contexts = {True: torch.cat([clip.to(device), faces.to(device)], dim=1)}
    contexts[False] = torch.zeros_like(contexts[True])
    features = adapter_features(model, video).to(device)
    reference = encode_reference(model.vae, video.reference, settings.noise_aug, settings.seed).to(device)
    time_ids = settings.time_ids().to(device)

    def network(x: torch.Tensor, timestep: torch.Tensor, frames: tuple[int, ...], positive: bool) -> torch.Tensor:
        with torch.no_grad():
            return denoise_step(model.unet, x, timestep, contexts[positive], time_ids,
                                features[list(frames)] if positive else None)

    if tuple(features.shape[-2:]) != tuple(reference.shape[-2:]):
        raise InputError("svd_folder", f"the VAE gives {tuple(reference.shape[-2:])} latents but the adapter "
                         f"{tuple(features.shape[-2:])} features", "use the SVD VAE (8x downsampling)")
    return sample_svd(network, reference, video.frames, settings, progress)


def decode_latents(vae: torch.nn.Module, latents: torch.Tensor, chunk: int = DECODE_CHUNK,
                   progress: Progress = no_progress) -> torch.Tensor:
    """``(1, T, 4, h, w)`` → frames ``(T, H, W, 3)`` in 0..1, ``chunk`` frames per temporal-decoder call."""
    param = next(vae.parameters())
    flat = latents[0] / vae.config.scaling_factor
    frames = []
    for start in range(0, flat.shape[0], chunk):
        part = flat[start:start + chunk].to(param.device, param.dtype)
        with torch.no_grad():
            frames.append(vae.decode(part, num_frames=part.shape[0]).sample.float().cpu())
        progress(min(start + chunk, flat.shape[0]), flat.shape[0])
    pixels = torch.cat(frames)
    return ((pixels + 1) / 2).clamp(0, 1).permute(0, 2, 3, 1)
