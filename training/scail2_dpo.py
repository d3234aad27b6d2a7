"""SCAIL-2 Bias-Aware DPO post-training (SPEC §3.5): LoRA against the frozen base on preference pairs.

Data: ``DATA_ROOT/preferences.json`` lists ``[{"win": clip, "lose": clip}, …]`` (written by ``python -m choreograph
preferences``): two clips of the same motion, people and size. As in Appendix B the condition is the driving video
``V_d`` the preferred clip carries (RGB, end to end, animation mode); the preferred clip's frames are ``x^w``, the
dispreferred clip's ``x^l``; the reference frame is sampled from the preferred clip. Clips without a driving video
fall back to the preferred clip's skeleton. Both latents get the same σ and ε. Errors are compared inside the union
of both clips' tracked hand boxes (per latent frame); the reference errors come from the same network with its
LoRA switched off (the frozen base), so no second copy is held.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..core.errors import InputError
from ..core.losses import dpo
from ..core.losses import flow_matching as fm
from .config import Config
from .dataset import Clip, resize_window
from .pairs import sample_pair
from .scail2_batch import Scail2Sample, pair_sample, pixels
from .scail2_objective import WAN_TIMESTEP_SCALE, Scail2Objective

PREFERENCES = "preferences.json"


@dataclass(frozen=True)
class PreferenceSample:
    """The preferred sample (latent, context, …), the dispreferred latent and the hand-region mask
    ``(B, 1, F, h, w)``."""

    win: Scail2Sample
    lose: torch.Tensor
    hands: torch.Tensor

    def to(self, device: torch.device) -> PreferenceSample:
        return PreferenceSample(self.win.to(device), self.lose.to(device), self.hands.to(device))


def read_preferences(root: str | Path, clips: list[Clip]) -> list[tuple[int, int]]:
    """``(win, lose)`` clip indices from ``preferences.json``, checked to be comparable."""
    path = Path(root) / PREFERENCES
    if not path.is_file():
        raise InputError("dataset", f"'{path}' is missing; DPO needs preference pairs",
                         'write [{"win": "<clip folder>", "lose": "<clip folder>"}, …] there')
    index = {c.meta.path.name: i for i, c in enumerate(clips)}
    pairs = []
    for row in json.loads(path.read_text()):
        unknown = [row.get(k) for k in ("win", "lose") if row.get(k) not in index]
        if unknown:
            raise InputError("dataset", f"{PREFERENCES} names clips {unknown} that are not in {root}",
                             "list clip folder names of this dataset")
        win, lose = clips[index[row["win"]]].meta, clips[index[row["lose"]]].meta
        if (win.frames, win.ids, win.width, win.height) != (lose.frames, lose.ids, lose.width, lose.height):
            raise InputError("dataset", f"preference pair {row['win']} / {row['lose']} differ in frames, people "
                             "or size", "pair videos generated from the same driving motion")
        pairs.append((index[row["win"]], index[row["lose"]]))
    if not pairs:
        raise InputError("dataset", f"{path} lists no pairs", "add at least one preference pair")
    return pairs


def _normalised(keypoints: np.ndarray, width: int, height: int) -> np.ndarray:
    out = keypoints.copy()
    out[..., 0] /= width
    out[..., 1] /= height
    return out


class Scail2DpoObjective(Scail2Objective):
    """``forward(batch, generator)`` → ``{"loss", "dpo", "sft", "implicit_accuracy"}``."""

    def __init__(self, config: Config, device: torch.device, clips: list[Clip]) -> None:
        super().__init__(config, device)
        self.close()  # DPO compares errors only; no IMG probe
        self.probe = None
        self.pairs = read_preferences(config.data.root, clips)
        # V_d as given: the RGB driving video, uncropped; the accurate skeleton only for clips without one
        self.options = dataclasses.replace(self.options, rgb_driving_probability=1.0, driving_crop_probability=0.0)

    def make_batch(self, clips: list[Clip], rng: np.random.Generator) -> PreferenceSample:
        o = self.options
        win_index, lose_index = self.pairs[int(rng.integers(len(self.pairs)))]
        win, lose = clips[win_index], clips[lose_index]
        pair = sample_pair(rng, win.meta.frames, o.frames, win.meta.swap_pairs, o.swap_probability,
                           o.sample_margin)
        with torch.no_grad():
            sample = self.conditioned(pair_sample(win, self.codec, o, rng, pair), rng, win)
            frames = range(pair[1], pair[1] + o.frames)
            lose_window = resize_window(lose.window(frames), o.width, o.height)
            lose_latent = self.codec.encode(pixels(lose_window.frames))
        return PreferenceSample(sample, lose_latent, self.hand_mask(win, lose, frames, sample.latent.shape[-2:]))

    def hand_mask(self, win: Clip, lose: Clip, frames: range, latent_size: tuple[int, int]) -> torch.Tensor:
        """``(1, 1, F, h, w)``: union of both clips' tracked hand boxes per latent frame (Appendix B.2)."""
        settings, m = self.config.losses.dpo, win.meta
        keypoints = [_normalised(c.poses(frames).keypoints, c.meta.width, c.meta.height) for c in (win, lose)]
        pad = (settings.hand_pad_px / m.width, settings.hand_pad_px / m.height)
        return dpo.hand_region_mask(keypoints, tuple(latent_size), settings.hand_min_score, pad)[None, None]

    def _velocity(self, latent: torch.Tensor, sigma: torch.Tensor, noise: torch.Tensor, sample: Scail2Sample
                  ) -> torch.Tensor:
        text, image = self.tokens(sample, latent.device)
        return self.transformer(fm.noisy_latent(latent, noise, sigma), sigma * WAN_TIMESTEP_SCALE, text, image,
                                context=sample.context)

    def forward(self, batch: PreferenceSample, generator: torch.Generator) -> dict[str, torch.Tensor]:
        device = self.transformer.patch_embedding.weight.device
        batch = batch.to(device)
        win, lose = batch.win.latent, batch.lose
        noise = torch.randn(win.shape, generator=generator).to(device)
        sigma = fm.sample_sigma(win.shape[0], win.shape[-2] * win.shape[-1] // 4, generator).to(device)
        targets = [fm.velocity_target(x, noise) for x in (win, lose)]
        model = [self._velocity(x, sigma, noise, batch.win) for x in (win, lose)]
        with torch.no_grad():
            self.transformer.disable_adapters()
            try:
                reference = [self._velocity(x, sigma, noise, batch.win) for x in (win, lose)]
            finally:
                self.transformer.enable_adapters()
        errors = [dpo.masked_error(p, u, batch.hands) for p, u in zip(model + reference, targets * 2)]
        sft = ((model[0].float() - targets[0].float()) ** 2).mean()
        settings = self.config.losses.dpo
        terms = dpo.bias_aware_dpo(*errors, sft=sft, beta=settings.beta, sft_weight=settings.sft_weight)
        return {"loss": terms.loss, "dpo": terms.dpo, "sft": terms.sft,
                "implicit_accuracy": terms.implicit_accuracy}
