"""Text and CLIP-image conditioning of a training sample, as SCAIL-2 / Wan receive them at inference.

* **Text**: ``data.text_embeddings`` is a safetensors file of umT5 embeddings in the layout the pack's prompt node
  reads headless (``positive`` ``[L, C]`` or ``[1, L, C]``; optional ``empty``, the embedding of the empty prompt).
  Each sample gets ``positive``, replaced by ``empty`` with probability ``data.text_dropout`` (classifier-free
  guidance needs the model to know the empty prompt). Without a file every sample gets the empty prompt — zeros,
  which is what models without a text encoder (the demo, tiny configs) are sampled with.
* **Image**: with ``model.clip_vision`` (``clip_vision_h.safetensors``) the reference frame of each sample is
  encoded to Wan's 257 penultimate-layer CLIP tokens, as the official SCAIL-2 always does (``use_i2v_clip``).

DreamActor-M2 fuses an MLLM description of the reference into the prompt (§4.3); no MLLM runs offline here, so that
fusion is not done: its embedding would enter exactly here, as ``positive`` (per clip, ``<clip>/text.safetensors``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

from ..core.errors import InputError
from ..core.sampling.wan_prompt import TEXT_TOKENS, pad_text
from .config import Config

CLIP_TEXT_FILE = "text.safetensors"  # optional per-clip prompt embedding (key "positive")


def _embedding(tensors: dict[str, torch.Tensor], key: str, where: str) -> torch.Tensor:
    value = tensors[key].float()
    value = value[0] if value.ndim == 3 else value
    if value.ndim != 2:
        raise InputError("data.text_embeddings", f"'{key}' in {where} has shape {tuple(tensors[key].shape)}",
                         "store [tokens, channels] umT5 embeddings")
    return value


class TrainingPrompt:
    """``tokens(reference_pixels, rng, clip_folders)`` → (text ``(B, 512, C)``, image ``(B, 257, C)`` or None)."""

    def __init__(self, config: Config, text_dim: int, image_dim: int | None, device: torch.device) -> None:
        self.text_dim, self.dropout = text_dim, config.data.text_dropout
        self.positive = self.empty = None
        path = config.data.text_embeddings
        if path is not None:
            tensors = load_file(path)
            if "positive" not in tensors:
                raise InputError("data.text_embeddings", f"'{path}' has no 'positive' embedding",
                                 "save the prompt's umT5 embedding under 'positive' (and '' under 'empty')")
            self.positive = self._checked(_embedding(tensors, "positive", path), path)
            if "empty" in tensors:
                self.empty = self._checked(_embedding(tensors, "empty", path), path)
        self.encoder = None
        if config.model.clip_vision is None and image_dim is not None:
            raise InputError("model.clip_vision", f"is not set, but the model reads {image_dim}-wide CLIP image tokens "
                             "of the reference (the official SCAIL-2 always gives them)",
                             "set model.clip_vision: models/clip_vision/clip_vision_h.safetensors")
        if config.model.clip_vision is not None:
            from ..core.models.clip_vision import load_clip_vision

            self.encoder = load_clip_vision(config.model.clip_vision, device=device)
            width = self.encoder.model.config.hidden_size
            if image_dim != width:
                raise InputError("model.clip_vision", f"gives {width}-wide tokens, the model takes {image_dim}",
                                 "use the CLIP vision file the model was built for (clip_vision_h: 1280)")

    def _checked(self, embedding: torch.Tensor, where: str) -> torch.Tensor:
        if embedding.shape[-1] != self.text_dim:
            raise InputError("data.text_embeddings", f"'{where}' holds {embedding.shape[-1]}-wide embeddings, the "
                             f"model's text width is {self.text_dim}", "embed the prompt with the model's encoder")
        return embedding

    def _empty(self) -> torch.Tensor:
        return self.empty if self.empty is not None else torch.zeros(1, self.text_dim)

    def text(self, rng: np.random.Generator, clip_folder: Path | None = None) -> torch.Tensor:
        """``(1, 512, C)``: the clip's / the file's prompt, or the empty prompt (dropout, or no prompt at all)."""
        positive = self.positive
        own = None if clip_folder is None else Path(clip_folder) / CLIP_TEXT_FILE
        if own is not None and own.is_file():
            positive = self._checked(_embedding(load_file(own), "positive", str(own)), str(own))
        dropped = rng.random() < self.dropout
        chosen = self._empty() if positive is None or dropped else positive
        return pad_text(chosen[None], TEXT_TOKENS)

    def image(self, reference_pixels: torch.Tensor) -> torch.Tensor | None:
        """``(B, 257, C)`` CLIP tokens of ``(B, H, W, 3)`` references, or None without ``model.clip_vision``."""
        if self.encoder is None:
            return None
        return torch.cat([self.encoder.encode(frame) for frame in reference_pixels])
