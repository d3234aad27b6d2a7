"""DreamActor-M2's spatiotemporal in-context input, ported to Wan2.1-I2V's 36-channel interface (SPEC §4).

The reference and the driving video sit side by side in one double-width video: left half = the character (the
reference at frame 0, then blank frames to be generated), right half = the driving signal (pose render or RGB).
The I2V mask says what is given (reference frame, history frames, the whole driving half); the network is stock
Wan-I2V with our LoRA merged at load. The output is the left half. Loop, guidance and segments are the shared ones.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..conditioning.wan_grid import fold_time
from ..errors import InputError
from ..progress import Progress, no_progress
from .loop import VideoCodec, denoise, seeded_noise
from .segments import HISTORY_FRAMES, SEGMENT_FRAMES, Segment, generate_segments, plan_segments
from .solvers import FlowSettings
from .wan_prompt import WanPrompt

BLANK = 0.5  # mid-grey in 0..1 is 0 in the VAE's [-1, 1] space: Wan-I2V's "nothing given" frame
LEAD_IN_FRAMES = 16  # first-second masking: 16 zero-motion frames at 16 fps, dropped after sampling (SPEC §4.1)
SIZE_MULTIPLE = 16  # latent /8, then 2×2 patches


@dataclass(frozen=True)
class Composite:
    """The double-width pixel video ``(T,H,2W,3)`` in 0..1 and its "given" mask ``(T,H,2W)`` in {0,1}."""

    frames: torch.Tensor
    given: torch.Tensor


def build_composite(reference: torch.Tensor | None, driving: torch.Tensor, history: torch.Tensor | None = None,
                    lead_in: int = 0) -> Composite:
    """``C = left ⊕_w right`` (SPEC §4.1 Eq. 2), with optional history frames and a zero-motion lead-in.

    Left half: ``reference`` at frame 0 (segment 0) or the ``history`` frames (later segments), blank elsewhere.
    Right half: ``lead_in`` blank, not-given frames, then the driving video (given).
    """
    t, h, w, _ = driving.shape
    total = lead_in + t
    left = torch.full((total, h, w, 3), BLANK)
    left_given = torch.zeros(total, h, w)
    if history is not None:
        left[: history.shape[0]] = history
        left_given[: history.shape[0]] = 1
    elif reference is not None:
        left[0] = reference
        left_given[0] = 1
    right = torch.cat([torch.full((lead_in, h, w, 3), BLANK), driving.float()])
    right_given = torch.cat([torch.zeros(lead_in, h, w), torch.ones(t, h, w)])
    return Composite(torch.cat([left, right], dim=2), torch.cat([left_given, right_given], dim=2))


def latent_mask(given: torch.Tensor) -> torch.Tensor:
    """Pixel mask ``(T,H,W')`` → Wan-I2V's 4-channel mask ``(1,4,F,H/8,W'/8)`` via the temporal fold (SPEC §0.2)."""
    small = F.interpolate(given[:, None].float(), scale_factor=1 / 8, mode="nearest")
    return fold_time(small, "driving video").unsqueeze(0)


def sample_dreamactor(model: torch.nn.Module, condition: torch.Tensor, mask: torch.Tensor, prompt: WanPrompt,
                      settings: FlowSettings, progress: Progress = no_progress) -> torch.Tensor:
    """Denoise ``[x (16) ; mask (4) ; condition (16)]`` with stock Wan-I2V; returns the full composite latent."""
    device, dtype = model.patch_embedding.weight.device, model.patch_embedding.weight.dtype
    condition, mask = condition.to(device, dtype), mask.to(device, dtype)
    image = prompt.image_tokens(device, dtype)
    texts = {flag: prompt.text(flag, device, dtype) for flag in (True, False)}

    def predict(sample: torch.Tensor, timestep: torch.Tensor, positive: bool) -> torch.Tensor:
        hidden = torch.cat([sample.to(dtype), mask, condition], dim=1)
        with torch.no_grad():
            return model(hidden, timestep, texts[positive], image, return_dict=False)[0].float()

    noise = seeded_noise(tuple(condition.shape), settings.seed, device)
    return denoise(predict, noise, settings.make_solver(device), settings.guidance, None, progress)


def left_half(latent: torch.Tensor) -> torch.Tensor:
    """The generated character: the left half of the double-width latent."""
    return latent[..., : latent.shape[-1] // 2]


def check_size(frames: torch.Tensor, input_name: str) -> None:
    height, width = frames.shape[-3:-1]
    if height % SIZE_MULTIPLE or width % SIZE_MULTIPLE:
        raise InputError(input_name, f"is {width}x{height}; DreamActor-M2 on Wan needs multiples of 16",
                         "resize or crop to e.g. 480x832")


def generate_dreamactor(model: torch.nn.Module, codec: VideoCodec, reference: torch.Tensor, driving: torch.Tensor,
                        prompt: WanPrompt, settings: FlowSettings, lead_in: int = LEAD_IN_FRAMES,
                        segment: int = SEGMENT_FRAMES, history: int = HISTORY_FRAMES,
                        progress: Progress = no_progress) -> torch.Tensor:
    """Frames ``(T,H,W,3)`` in 0..1 animating ``reference`` ``(H,W,3)`` with ``driving`` ``(T,H,W,3)``."""
    check_size(reference, "reference_image")
    if tuple(driving.shape[1:3]) != tuple(reference.shape[:2]):
        raise InputError("driving", f"is {driving.shape[2]}x{driving.shape[1]}, the reference is "
                         f"{reference.shape[1]}x{reference.shape[0]}", "resize both to the generation size")
    if lead_in % 4:
        raise InputError("lead_in", f"{lead_in} frames would break the 4k+1 length", "use a multiple of 4 (16)")
    total = driving.shape[0]
    plans = plan_segments(total, segment, history)
    steps = settings.steps * len(plans)

    def run(plan: Segment, previous: torch.Tensor | None) -> torch.Tensor:
        skip = lead_in if plan.index == 0 else 0
        composite = build_composite(reference, driving[list(plan.frames)], previous, skip)
        done = plan.index * settings.steps
        latent = sample_dreamactor(model, codec.encode(composite.frames), latent_mask(composite.given), prompt,
                                   settings, lambda i, n: progress(done + i, steps))
        return codec.decode(left_half(latent))[skip:]

    return generate_segments(total, run, segment, history)
