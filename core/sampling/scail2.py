"""SCAIL-2 sampling: one 81-frame segment, and long videos continued from a clean latent history (SPEC §3.6).

What is specific to SCAIL-2 is only how conditioning enters (``Scail2Context``) and that history frames are clean
latents written into the noisy video at every step with history mask 1; loop, guidance, solvers and segment
stitching are the shared ones.
"""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..errors import InputError
from ..models.scail2 import ANIMATION, REPLACEMENT, Scail2Context, Scail2Transformer
from ..models.wan_forward import COMPATS, NATIVE, OFFICIAL
from ..progress import Progress, no_progress
from .loop import VideoCodec, clean_history, denoise, seeded_noise
from .scail2_conditioning import SegmentConditioning
from .segments import HISTORY_FRAMES, SEGMENT_FRAMES, Segment, generate_segments, plan_segments
from .solvers import FlowSettings
from .wan_prompt import WanPrompt

LATENT_CHANNELS = 16
LOG = logging.getLogger("choreograph")
CLIP_VISION_FILE = "clip_vision_h.safetensors"


def usable_frames(total: int) -> int:
    """Frames SCAIL-2 generates from ``total``: the largest 4k+1 not above it (official and native both truncate
    to ``((T - 1) // 4) * 4 + 1``)."""
    if total < 1:
        raise InputError("driving_video", "has no frames", "connect a driving video")
    return (total - 1) // 4 * 4 + 1


def has_image_branch(model: torch.nn.Module) -> bool:
    """Whether the transformer has Wan-I2V's CLIP image cross-attention (the released SCAIL-2 has)."""
    embedder = getattr(model, "condition_embedder", None)
    return getattr(embedder, "image_embedder", None) is not None


def require_clip_tokens(model: torch.nn.Module, prompt: WanPrompt) -> None:
    """The official model always sees the reference's CLIP-vision tokens (``use_i2v_clip``); refuse without."""
    if has_image_branch(model) and prompt.image is None:
        raise InputError("prompt", "has no CLIP-vision tokens of the reference; SCAIL-2 was trained with them "
                         "always present", f"put {CLIP_VISION_FILE} in ComfyUI/models/clip_vision (the sampler "
                         "then encodes the reference itself) or connect CLIPVisionEncode to the Wan Prompt node")


def model_dtype(model: torch.nn.Module) -> torch.dtype:
    """The dtype activations run in: that of the patch embedding (fp8 layers upcast to it)."""
    return model.patch_embedding.weight.dtype


def sample_scail2(model: Scail2Transformer, context: Scail2Context, prompt: WanPrompt, settings: FlowSettings,
                  history: torch.Tensor | None = None, progress: Progress = no_progress,
                  embed_once: bool = True) -> torch.Tensor:
    """Denoise one segment; returns the normalised video latent ``(B, 16, F, h, w)``.

    ``history`` ``(B, 16, k, h, w)``: clean latents of the first k frames (the previous segment's tail). In the
    native mode the text is used as given (native ComfyUI does not pad it to 512 tokens). ``embed_once``: embed
    the conditioning that does not change across steps once (``SegmentConditioning``; bit-identical), instead of
    in every model call.
    """
    device, dtype = model.patch_embedding.weight.device, model_dtype(model)
    shape = (context.driving.shape[0], LATENT_CHANNELS, context.driving.shape[2], *_latent_hw(context))
    frames = 0 if history is None else history.shape[2]
    context = dataclasses.replace(context, history_frames=frames).to(device)
    image = prompt.image_tokens(device, dtype)
    pad = context.compat == OFFICIAL
    texts = {flag: prompt.text(flag, device, dtype, pad=pad) for flag in (True, False)}

    branches = {flag: text for flag, text in texts.items() if flag or settings.guidance != 1.0}
    conditioning = SegmentConditioning.embed(model, context, shape, branches, image) if embed_once else None

    def predict(sample: torch.Tensor, timestep: torch.Tensor, positive: bool) -> torch.Tensor:
        if conditioning is not None:
            return conditioning.predict(model, sample.to(dtype), timestep, positive).float()
        with torch.no_grad():
            return model(sample.to(dtype), timestep, texts[positive], image, context=context).float()

    noise = seeded_noise(shape, settings.seed, device)
    return denoise(predict, noise, settings.make_solver(device), settings.guidance, clean_history(history),
                   progress)


def _latent_hw(context: Scail2Context) -> tuple[int, int]:
    if context.reference is not None:
        return tuple(context.reference.shape[3:])  # type: ignore[return-value]
    if context.compat == OFFICIAL:
        return tuple(2 * n for n in context.driving.shape[3:])  # type: ignore[return-value]
    raise ValueError("without a reference the video latent size is unknown; give a reference")


@dataclass(frozen=True)
class Scail2Video:
    """Pixel-space inputs of a whole SCAIL-2 generation (any length; segments are cut from it).

    ``reference`` ``(H,W,3)`` and ``driving`` ``(T,H,W,3)`` in 0..1 at the generation size (H, W multiples of
    32); ``driving_colour_mask`` ``(T,H,W,3)`` and ``reference_colour_mask`` ``(H,W,3)`` are binding-slot colour
    masks (SPEC §3.2, rendered by ``core.conditioning.binding_slots``; official backgrounds: driving black and
    reference white in animation, driving white and reference black in replacement). Optional ``extra_references``
    ``(Ra,H,W,3)`` with ``extra_reference_colour_masks`` ``(Ra,H,W,3)``: more views of the characters, each its own
    reference frame in the sequence (SCAIL-2's additional refs).

    ``compat``: ``official`` (the conventions the weights were trained with; every mask required) or ``native``
    (native ComfyUI's ``WanSCAILToVideo`` + model, exactly: masks may be absent, the driving video is halved
    with area averaging, in replacement mode the reference is composited on black by its mask, no CLIP allowed,
    text unpadded, the driving group's RoPE at native's scaled mid-points).
    """

    reference: torch.Tensor
    driving: torch.Tensor
    reference_colour_mask: torch.Tensor | None
    driving_colour_mask: torch.Tensor | None
    mode: str = ANIMATION
    compat: str = OFFICIAL
    extra_references: torch.Tensor | None = None
    extra_reference_colour_masks: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.compat not in COMPATS:
            raise InputError("compat", f"unknown setting '{self.compat}'", f"choose one of {', '.join(COMPATS)}")
        height, width = self.reference.shape[:2]
        if height % 32 or width % 32:
            raise InputError("reference_image", f"is {width}x{height}; SCAIL-2 needs multiples of 32",
                             "resize or crop to e.g. 512x896 or 704x1280")
        if self.compat == OFFICIAL:
            for name in ("reference_colour_mask", "driving_colour_mask"):
                if getattr(self, name) is None:
                    raise InputError(name.replace("colour_mask", "image_mask").replace("driving_image", "pose_video"),
                                     "is missing; the official SCAIL-2 always reads both colour masks",
                                     "connect the SCAIL-2 colour masks, or set compat to native")
        for name in ("driving", "driving_colour_mask", "extra_references", "extra_reference_colour_masks"):
            video = getattr(self, name)
            if video is not None and tuple(video.shape[1:3]) != (height, width):
                raise InputError(name, f"is {video.shape[2]}x{video.shape[1]}, the reference is {width}x{height}",
                                 "resize every input to the generation size")
        if self.driving_colour_mask is not None and self.driving.shape[0] != self.driving_colour_mask.shape[0]:
            raise InputError("driving_colour_mask", f"has {self.driving_colour_mask.shape[0]} frames, the driving "
                             f"video {self.driving.shape[0]}", "use the mask rendered for this driving video")
        extras = (self.extra_references, self.extra_reference_colour_masks)
        masks_needed = self.reference_colour_mask is not None
        if (extras[1] is not None and extras[0] is None) or (masks_needed and (extras[0] is None) != (
                extras[1] is None)) or (extras[1] is not None and extras[0].shape[0] != extras[1].shape[0]):
            raise InputError("extra_reference_masks", "must come with the extra reference images, one per image",
                             "connect one colour mask per extra reference image")

    def check_backgrounds(self) -> None:
        """Official mode: refuse colour masks whose backgrounds contradict the mode (native reads anything)."""
        from ..conditioning.binding_slots import check_background, check_reference_background

        if self.compat != OFFICIAL:
            return
        check_background(self.driving_colour_mask, self.mode, "pose_video_mask")
        check_reference_background(self.reference_colour_mask, self.mode)
        if self.extra_reference_colour_masks is not None:
            check_reference_background(self.extra_reference_colour_masks, self.mode, "extra_reference_masks")

    def reference_pixels(self, image: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """The reference as encoded: native composites it on black by its mask in replacement mode
        (``max(R, G, B) > 0.1`` of the colour mask); the official code encodes it as given."""
        if self.compat == NATIVE and self.mode == REPLACEMENT and mask is not None:
            return image * (mask[..., :3].amax(dim=-1, keepdim=True) > 0.1).to(image.dtype)
        return image


def generate_scail2(model: Scail2Transformer, codec: VideoCodec, video: Scail2Video, prompt: WanPrompt,
                    settings: FlowSettings, segment: int = SEGMENT_FRAMES, history: int = HISTORY_FRAMES,
                    progress: Progress = no_progress) -> torch.Tensor:
    """Frames ``(T',H,W,3)`` in 0..1: SCAIL-2 over 81-frame segments continued from 5 decoded history frames.

    ``T' = ((T - 1) // 4) * 4 + 1``: a driving video that is not 4k+1 frames long loses its last frames (logged),
    as in the official code and native ComfyUI."""
    from ..conditioning.binding_slots import driving_mask28, reference_mask28

    video.check_backgrounds()
    if video.compat == OFFICIAL:
        require_clip_tokens(model, prompt)
    total = usable_frames(video.driving.shape[0])
    if total < video.driving.shape[0]:
        LOG.warning("SCAIL-2: %d driving frames is not 4k+1; the last %d frame(s) are dropped (official and native "
                    "truncation), %d frames are generated", video.driving.shape[0], video.driving.shape[0] - total,
                    total)
    plans = plan_segments(total, segment, history)
    reference = codec.encode(video.reference_pixels(video.reference, video.reference_colour_mask)[None])
    reference_mask = None if video.reference_colour_mask is None else \
        reference_mask28(video.reference_colour_mask).unsqueeze(0)
    extras = _extra_references(codec, video)
    steps = settings.steps * len(plans)
    downsample = "area" if video.compat == NATIVE else "bilinear"

    def run(plan: Segment, previous: torch.Tensor | None) -> torch.Tensor:
        frames = list(plan.frames)
        driving_mask = None if video.driving_colour_mask is None else \
            driving_mask28(video.driving_colour_mask[frames], downsample).unsqueeze(0)
        context = Scail2Context(reference=reference, reference_mask=reference_mask,
                                driving=codec.encode(half_size(video.driving[frames], downsample)),
                                driving_mask=driving_mask, mode=video.mode, compat=video.compat, **extras)
        clean = None if previous is None else codec.encode(previous)
        done = plan.index * settings.steps
        latent = sample_scail2(model, context, prompt, settings, clean,
                               lambda i, n: progress(done + i, steps))
        return codec.decode(latent)

    return generate_segments(total, run, segment, history)


def _extra_references(codec: VideoCodec, video: Scail2Video) -> dict[str, torch.Tensor]:
    """Each extra reference encoded as its own one-frame latent, stacked in time, with its 28-channel mask."""
    from ..conditioning.binding_slots import reference_mask28

    if video.extra_references is None:
        return {}
    masks = video.extra_reference_colour_masks
    images = [video.reference_pixels(image, None if masks is None else masks[i])
              for i, image in enumerate(video.extra_references)]
    latents = torch.cat([codec.encode(image[None]) for image in images], dim=2)
    if masks is None:
        return {"extra_references": latents}
    return {"extra_references": latents,
            "extra_reference_masks": torch.cat([reference_mask28(m) for m in masks], dim=1).unsqueeze(0)}


def half_size(frames: torch.Tensor, method: str = "bilinear") -> torch.Tensor:
    """``(T,H,W,3)`` → ``(T,H/2,W/2,3)``: SCAIL-2's driving video resolution (SPEC §3.1); bilinear ×0.5 in the
    official code, area averaging in native ComfyUI (the same 2×2 mean for even sizes)."""
    chw = frames.permute(0, 3, 1, 2).float()
    if method == "area":
        small = F.interpolate(chw, size=(chw.shape[2] // 2, chw.shape[3] // 2), mode="area")
    else:
        small = F.interpolate(chw, scale_factor=0.5, mode="bilinear", align_corners=False, antialias=False)
    return small.permute(0, 2, 3, 1)
