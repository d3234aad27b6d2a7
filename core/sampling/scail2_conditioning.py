"""SCAIL-2 conditioning embedded once per segment: what does not change across denoising steps is not recomputed.

Of the transformer's inputs only the noisy video and the timestep change from step to step. The reference and
extra-reference frames with their binding masks, the half-resolution driving video with its masks, and the text
and CLIP image tokens of each guidance branch are the same at every step of a segment, so their embeddings are
computed here once and every step embeds only the video and runs the blocks (``Scail2Transformer``'s separable
forward: ``embed_references`` / ``embed_driving`` / ``embed_video`` / ``phasors`` / ``denoise_tokens``). The
result is the same computation in the same order, so it is bit-identical to calling the model (tested).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..models.scail2 import Scail2Context, Scail2Transformer, TokenGroup
from ..models.wan_forward import CrossContext, cross_context


@dataclass(frozen=True)
class SegmentConditioning:
    """Embedded reference and driving token groups and the cross-attention context of each guidance branch."""

    context: Scail2Context
    references: TokenGroup | None
    driving: TokenGroup | None
    cross: dict[bool, CrossContext]

    @classmethod
    @torch.no_grad()
    def embed(cls, model: Scail2Transformer, context: Scail2Context, video_shape: torch.Size,
              texts: dict[bool, torch.Tensor], image: torch.Tensor | None) -> SegmentConditioning:
        """Embed everything but the video once; ``texts`` maps positive/negative to the prompt embedding."""
        context.check(video_shape)
        dtype = model.patch_embedding.weight.dtype
        cross = {flag: cross_context(model, text.to(dtype), None if image is None else image.to(dtype),
                                     context.compat) for flag, text in texts.items()}
        return cls(context, model.embed_references(context), model.embed_driving(context), cross)

    @torch.no_grad()
    def predict(self, model: Scail2Transformer, sample: torch.Tensor, timestep: torch.Tensor, positive: bool
                ) -> torch.Tensor:
        """The model's velocity for ``sample``: the forward with the cached groups and branch context."""
        video = model.embed_video(sample, self.context)
        phasors = model.phasors(self.context, sample.shape, self.references, video, self.driving)
        return model.denoise_tokens(self.references, video, self.driving, phasors, timestep, self.cross[positive],
                                    None, self.context.compat, sample.shape)
