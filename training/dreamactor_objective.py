"""DreamActor-M2 on Wan2.1-I2V (SPEC §4): LoRA (feed-forward by default, §4.4) trained with flow matching on the
spatiotemporal in-context composite.

Sample: reference frame ⊕_w driving is the given condition ``Z`` with its mask; the clean latent is target video
⊕_w driving. The loss covers the left half only and skips latent frame 0 (the reference is given there), §4.1 item 7.
The first ``data.lead_in_frames`` frames carry no motion (first-second masking) when the window is longer.

Driving, by stage (``data.driving``):

* ``skeleton`` (stage 1, pose-based): the DWPose skeleton on black of the target's poses with both pose
  augmentations of §3.3 — random bone-length scaling (``data.bone_scaling_probability``, U(0.8, 1.2) per
  anatomical group) and bounding-box normalisation (``data.box_normalisation``: each person's whole-clip keypoint
  box mapped onto their box in the reference frame, ±``data.box_jitter`` scale), so the skeleton carries motion,
  not body shape or placement;
* ``rgb`` (stage 2, end-to-end, §3.4): the RGB driving video of a reverse-driving triplet (another character doing
  the target's motion: ``python -m choreograph pairs`` with the stage-1 model as generator, or synthetic triplets).

Text and CLIP tokens as at inference (``training.prompts``). The paper's MLLM target-oriented text fusion (§3.3) is
not done — no MLLM runs offline; its fused prompt would enter as the ``positive`` embedding (``data.text_embeddings``
or ``<clip>/text.safetensors``), the hook ``TrainingPrompt.text``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..core.conditioning.in_context import in_context_input
from ..core.errors import InputError
from ..core.losses import flow_matching as fm
from ..core.models.wan_arch import I2V
from ..core.render.skeleton import SkeletonStyle, render_skeletons
from ..core.pose.augment import normalise_to_reference
from ..core.pose.sequence import PoseSequence
from .augment import scale_bones
from .codecs import make_codec
from .config import Config
from .dataset import Clip, resize_window
from .exports import export_final
from .lora import add_lora
from .model import build_model, empty_prompt
from .prompts import TrainingPrompt
from .pairs import sample_pair
from .scail2_objective import WAN_TIMESTEP_SCALE, sample_options


class DreamActorObjective(nn.Module):
    """``forward(batch, generator)`` → ``{"loss", "flow"}``; batch = (clean, condition, mask, text[, image])."""

    def __init__(self, config: Config, device: torch.device) -> None:
        super().__init__()
        self.config = config
        self.transformer = build_model(config.model, config.seed, I2V)
        if config.train.method != "full":
            add_lora(self.transformer, config.lora.targets, config.lora.rank, config.lora.alpha)
        self.codec = make_codec(config.model.vae, device)
        self.options = sample_options(config)
        self.prompt = TrainingPrompt(config, self.transformer.config.text_dim, self.transformer.config.image_dim,
                                     device)

    def driving_poses(self, poses: PoseSequence, reference: PoseSequence, rng: np.random.Generator) -> PoseSequence:
        """Stage-1 pose augmentation (§3.3): bone-length scaling, then bounding-box normalisation."""
        d = self.config.data
        if rng.random() < self.options.bone_scaling_probability:
            poses = scale_bones(poses, rng)
        if d.box_normalisation:
            poses = normalise_to_reference(poses, reference, scale_jitter=d.box_jitter, rng=rng)
        return poses

    def _composite(self, clip: Clip, rng: np.random.Generator
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Target ⊕ driving frames, the condition composite, its pixel mask and the reference frame."""
        o = self.options
        a, b, _ = sample_pair(rng, clip.meta.frames, o.frames, clip.meta.swap_pairs, 0.0, o.sample_margin)
        frames = range(b, b + o.frames)
        target = resize_window(clip.window(frames), o.width, o.height)
        reference = resize_window(clip.window([a]), o.width, o.height)
        if self.config.data.driving == "rgb":
            if clip.meta.driving_mode is None:
                raise InputError("data.driving", f"is rgb but clip '{clip.meta.path.name}' has no driving video",
                                 "make reverse-driving pairs first (python -m choreograph pairs, or "
                                 "data.synthetic.pairs) or use driving: skeleton")
            driving = resize_window(clip.driving_window(frames), o.width, o.height).frames
        else:
            poses = self.driving_poses(target.poses, reference.poses, rng)
            driving = render_skeletons(poses, None, o.width, o.height, SkeletonStyle(palette="dwpose"))
        lead = self.config.data.lead_in_frames if o.frames > self.config.data.lead_in_frames else 0
        given = in_context_input(reference.frames[0], driving[lead:], lead)
        clean = np.concatenate([target.frames, driving], axis=2).astype(np.float32) / 255.0
        clean[:lead, :, o.width:] = 0.5  # no motion shown during the lead-in
        return clean, given.composite, given.latent_mask().numpy(), reference.frames[0]

    def make_batch(self, clips: list[Clip], rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
        picks = [clips[int(i)] for i in rng.integers(len(clips), size=self.config.train.batch_size)]
        parts = [self._composite(clip, rng) for clip in picks]
        with torch.no_grad():
            clean = torch.cat([self.codec.encode(torch.from_numpy(p[0])) for p in parts])
            condition = torch.cat([self.codec.encode(torch.from_numpy(p[1])) for p in parts])
            references = torch.stack([torch.from_numpy(p[3].copy()).float() / 255.0 for p in parts])
            image = self.prompt.image(references)
        mask = torch.stack([torch.from_numpy(p[2]) for p in parts])
        text = torch.cat([self.prompt.text(rng, clip.meta.path) for clip in picks])
        return (clean, condition, mask, text) if image is None else (clean, condition, mask, text, image)

    def forward(self, batch: tuple[torch.Tensor, ...], generator: torch.Generator) -> dict[str, torch.Tensor]:
        device = self.transformer.patch_embedding.weight.device
        clean, condition, mask, text, *given = (t.to(device) for t in batch)
        b, _, _, h, w = clean.shape
        noise = torch.randn(clean.shape, generator=generator).to(device)
        sigma = fm.sample_sigma(b, h * w // 4, generator).to(device)
        hidden = torch.cat([fm.noisy_latent(clean, noise, sigma), mask, condition], dim=1)
        image = given[0] if given else empty_prompt(self.transformer, b, device)[1]
        prediction = self.transformer(hidden, sigma * WAN_TIMESTEP_SCALE, text, image, return_dict=False)[0]
        right = torch.zeros_like(clean[:, :1])
        right[..., w // 2:] = 1
        loss = fm.flow_matching_loss(prediction, fm.velocity_target(clean, noise), history_frames=1, exclude=right)
        return {"loss": loss, "flow": loss}

    def export(self, out: Path) -> list[Path]:
        return export_final(self.transformer, self.config, out)

    def close(self) -> None:
        """Nothing to release."""
