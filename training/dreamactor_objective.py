"""DreamActor-M2 on Wan2.1-I2V (SPEC §4): LoRA (feed-forward by default, §4.4) trained with flow matching on the
spatiotemporal in-context composite.

Sample: reference frame ⊕_w driving skeleton (DWPose palette on black, bone-length scaled with probability
``data.bone_scaling_probability``) is the given condition ``Z`` with its mask; the clean latent is target video
⊕_w driving. The loss covers the left half only and skips latent frame 0 (the reference is given there), §4.1 item 7.
The first ``data.lead_in_frames`` frames carry no motion (first-second masking) when the window is longer.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..core.conditioning.in_context import in_context_input
from ..core.losses import flow_matching as fm
from ..core.models.wan_arch import I2V
from ..core.render.skeleton import SkeletonStyle, render_skeletons
from .augment import scale_bones
from .codecs import make_codec
from .config import Config
from .dataset import Clip, resize_window
from .exports import export_final
from .lora import add_lora
from .model import build_model, empty_prompt
from .pairs import sample_pair
from .scail2_objective import WAN_TIMESTEP_SCALE, sample_options


class DreamActorObjective(nn.Module):
    """``forward(batch, generator)`` → ``{"loss", "flow"}``; batch = (clean, condition, mask) latents."""

    def __init__(self, config: Config, device: torch.device) -> None:
        super().__init__()
        self.config = config
        self.transformer = build_model(config.model, config.seed, I2V)
        if config.train.method != "full":
            add_lora(self.transformer, config.lora.targets, config.lora.rank, config.lora.alpha)
        self.codec = make_codec(config.model.vae, device)
        self.options = sample_options(config)

    def _composite(self, clip: Clip, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Target ⊕ driving frames, the condition composite and its pixel mask for one sampled window."""
        o = self.options
        a, b, _ = sample_pair(rng, clip.meta.frames, o.frames, clip.meta.swap_pairs, 0.0, o.sample_margin)
        target = resize_window(clip.window(range(b, b + o.frames)), o.width, o.height)
        reference = resize_window(clip.window([a]), o.width, o.height)
        poses = scale_bones(target.poses, rng) if rng.random() < o.bone_scaling_probability else target.poses
        driving = render_skeletons(poses, None, o.width, o.height, SkeletonStyle(palette="dwpose"))
        lead = self.config.data.lead_in_frames if o.frames > self.config.data.lead_in_frames else 0
        given = in_context_input(reference.frames[0], driving[lead:], lead)
        clean = np.concatenate([target.frames, driving], axis=2).astype(np.float32) / 255.0
        clean[:lead, :, o.width:] = 0.5  # no motion shown during the lead-in
        return clean, given.composite, given.latent_mask().numpy()

    def make_batch(self, clips: list[Clip], rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
        parts = [self._composite(clips[int(i)], rng) for i in rng.integers(len(clips), size=self.config.train.batch_size)]
        with torch.no_grad():
            clean = torch.cat([self.codec.encode(torch.from_numpy(p[0])) for p in parts])
            condition = torch.cat([self.codec.encode(torch.from_numpy(p[1])) for p in parts])
        mask = torch.stack([torch.from_numpy(p[2]) for p in parts])
        return clean, condition, mask

    def forward(self, batch: tuple[torch.Tensor, ...], generator: torch.Generator) -> dict[str, torch.Tensor]:
        device = self.transformer.patch_embedding.weight.device
        clean, condition, mask = (t.to(device) for t in batch)
        b, _, _, h, w = clean.shape
        noise = torch.randn(clean.shape, generator=generator).to(device)
        sigma = fm.sample_sigma(b, h * w // 4, generator).to(device)
        hidden = torch.cat([fm.noisy_latent(clean, noise, sigma), mask, condition], dim=1)
        text, image = empty_prompt(self.transformer, b, device)
        prediction = self.transformer(hidden, sigma * WAN_TIMESTEP_SCALE, text, image, return_dict=False)[0]
        right = torch.zeros_like(clean[:, :1])
        right[..., w // 2:] = 1
        loss = fm.flow_matching_loss(prediction, fm.velocity_target(clean, noise), history_frames=1, exclude=right)
        return {"loss": loss, "flow": loss}

    def export(self, out: Path) -> list[Path]:
        return export_final(self.transformer, self.config, out)

    def close(self) -> None:
        """Nothing to release."""
