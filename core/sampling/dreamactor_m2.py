"""DreamActor-M2's spatiotemporal in-context input, ported to Wan2.1-I2V's 36-channel interface (SPEC §4).

The composite itself (reference ⊕ driving side by side, its given-mask, the zero-motion lead-in) is built by
``core.conditioning.in_context``; this file adds continuation history, runs stock Wan-I2V (our LoRA merged at
load) on ``[noise ; mask ; composite latent]`` and keeps the left half. Loop, guidance and segments are shared.
"""
from __future__ import annotations

import torch

from ..conditioning.in_context import DEFAULT_PAD_FRAMES, InContextInput, in_context_input
from ..errors import InputError
from ..models.wan_forward import NATIVE, OFFICIAL, check_compat, wan_forward
from ..progress import Progress, no_progress
from .loop import VideoCodec, denoise, seeded_noise
from .segments import HISTORY_FRAMES, SEGMENT_FRAMES, Segment, generate_segments, plan_segments
from .solvers import FlowSettings
from .wan_prompt import WanPrompt

SIZE_MULTIPLE = 16  # latent /8, then 2×2 patches


def segment_input(reference: torch.Tensor, driving: torch.Tensor, history: torch.Tensor | None = None,
                  pad_frames: int = 0) -> InContextInput:
    """The composite of one segment (``core.conditioning.in_context``, SPEC §4.1) with continuation.

    Later segments carry the previous segment's last ``k`` generated frames as the left half's first ``k`` frames,
    marked given (SPEC §4.5); the reference then lives on only in the CLIP context.
    """
    base = in_context_input(reference.cpu().numpy(), driving.cpu().numpy(), pad_frames)
    if history is None:
        return base
    composite, mask, k = base.composite.copy(), base.mask.copy(), history.shape[0]
    composite[:k, :, : base.width] = history.cpu().numpy()
    mask[:k, :, : base.width] = 1.0
    return InContextInput(composite, mask, base.pad_frames)


def sample_dreamactor(model: torch.nn.Module, condition: torch.Tensor, mask: torch.Tensor, prompt: WanPrompt,
                      settings: FlowSettings, progress: Progress = no_progress, compat: str = OFFICIAL
                      ) -> torch.Tensor:
    """Denoise ``[x (16) ; mask (4) ; condition (16)]`` with stock Wan-I2V; returns the full composite latent.

    ``compat="native"`` runs native ComfyUI's conventions (``core.models.wan_forward``): the text as given, the
    image/text split at the CLIP token count, no-CLIP image branch on the text, odd latent sizes padded."""
    device, dtype = model.patch_embedding.weight.device, model.patch_embedding.weight.dtype
    condition, mask = condition.to(device, dtype), mask.to(device, dtype)
    image = prompt.image_tokens(device, dtype)
    native = check_compat(compat) == NATIVE
    texts = {flag: prompt.text(flag, device, dtype, pad=not native) for flag in (True, False)}

    def predict(sample: torch.Tensor, timestep: torch.Tensor, positive: bool) -> torch.Tensor:
        hidden = torch.cat([sample.to(dtype), mask, condition], dim=1)
        with torch.no_grad():
            if native:
                return wan_forward(model, hidden, timestep, texts[positive], image, NATIVE).float()
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
                        prompt: WanPrompt, settings: FlowSettings, lead_in: int = DEFAULT_PAD_FRAMES,
                        segment: int = SEGMENT_FRAMES, history: int = HISTORY_FRAMES,
                        progress: Progress = no_progress, compat: str = OFFICIAL) -> torch.Tensor:
    """Frames ``(T,H,W,3)`` in 0..1 animating ``reference`` ``(H,W,3)`` with ``driving`` ``(T,H,W,3)``."""
    check_size(reference, "reference_image")
    if tuple(driving.shape[1:3]) != tuple(reference.shape[:2]):
        raise InputError("driving", f"is {driving.shape[2]}x{driving.shape[1]}, the reference is "
                         f"{reference.shape[1]}x{reference.shape[0]}", "resize both to the generation size")
    total = driving.shape[0]
    plans = plan_segments(total, segment, history)
    steps = settings.steps * len(plans)

    def run(plan: Segment, previous: torch.Tensor | None) -> torch.Tensor:
        skip = lead_in if plan.index == 0 else 0
        inputs = segment_input(reference, driving[list(plan.frames)], previous, skip)
        done = plan.index * settings.steps
        latent = sample_dreamactor(model, codec.encode(torch.from_numpy(inputs.composite)),
                                   inputs.latent_mask().unsqueeze(0), prompt, settings,
                                   lambda i, n: progress(done + i, steps), compat)
        return codec.decode(left_half(latent))[skip:]

    return generate_segments(total, run, segment, history)
