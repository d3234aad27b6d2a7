"""StableAnimator's identity cross-attention for the SVD UNet's spatial blocks (SPEC §2.1).

The spatial ``attn2`` layers see ``[CLIP image token ; identity tokens]``. The CLIP token goes through the
layer's own ``to_k``/``to_v``; the identity tokens through ``id_to_k``/``id_to_v`` (initialised from them).
The face result is then *moment-aligned* to the image result — its mean and standard deviation over tokens
and channels are replaced by those of the image branch — so face tokens steer the content without changing
the feature statistics the UNet was trained on. The temporal blocks' cross-attention sees only the CLIP token:
StableAnimator's ``transformer_temporal.py`` drops the identity tokens before building ``time_context``, unlike
stock diffusers (golden-tested; passing them moved the conditional output by 0.5–1.0). Otherwise temporal blocks
keep standard attention.

The split point is "first ``context_tokens`` = CLIP, the rest = identities" rather than StableAnimator's fixed
``num_tokens = 4``: DanceTogether has N·K identity tokens, and N varies between clips (N = 0 skips the branch).
Parameter names (``attn2.processor.id_to_k.weight``) equal StableAnimator's, so its ``unet`` file loads exactly.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers.models.attention_processor import AttnProcessor2_0
from torch import nn

CLIP_TOKENS = 1  # SVD's image embedding is one token
MOMENT_EPS = 1e-5


def _attend(attn, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """Multi-head SDPA over ``(B, L, heads·d)`` tensors, heads merged back."""
    heads = attn.heads
    q, k, v = (t.unflatten(-1, (heads, -1)).transpose(1, 2) for t in (query, key, value.to(query.dtype)))
    return F.scaled_dot_product_attention(q, k.to(q.dtype), v).transpose(1, 2).flatten(2)


def moment_aligned(face: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """``face`` re-normalised to the mean and std of ``image`` per sample (over tokens and channels)."""
    mean_i, std_i = image.mean(dim=(1, 2), keepdim=True), image.std(dim=(1, 2), keepdim=True)
    mean_f, std_f = face.mean(dim=(1, 2), keepdim=True), face.std(dim=(1, 2), keepdim=True)
    return (face - mean_f) * (std_i / (std_f + MOMENT_EPS)) + mean_i


class IdentityAttnProcessor(nn.Module):
    """A diffusers attention processor with the identity branch's two bias-free projections."""

    def __init__(self, hidden_size: int, cross_attention_dim: int, scale: float = 1.0,
                 context_tokens: int = CLIP_TOKENS) -> None:
        super().__init__()
        self.id_to_k = nn.Linear(cross_attention_dim, hidden_size, bias=False)
        self.id_to_v = nn.Linear(cross_attention_dim, hidden_size, bias=False)
        self.scale = scale
        self.context_tokens = context_tokens

    def __call__(self, attn, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor | None = None,
                 attention_mask: torch.Tensor | None = None, temb: torch.Tensor | None = None,
                 *args, **kwargs) -> torch.Tensor:
        if encoder_hidden_states is None:
            raise ValueError("IdentityAttnProcessor is a cross-attention processor; it needs encoder_hidden_states")
        residual = hidden_states
        if hidden_states.ndim == 4:
            raise ValueError("IdentityAttnProcessor expects token sequences (B, L, C), as SVD's transformer blocks "
                             "pass them")
        context = encoder_hidden_states.to(hidden_states.dtype)
        image_tokens, id_tokens = context[:, :self.context_tokens], context[:, self.context_tokens:]
        if attn.norm_cross:
            image_tokens = attn.norm_encoder_hidden_states(image_tokens)
        query = attn.to_q(hidden_states)
        out = _attend(attn, query, attn.to_k(image_tokens), attn.to_v(image_tokens))
        if id_tokens.shape[1]:
            face = _attend(attn, query, self.id_to_k(id_tokens), self.id_to_v(id_tokens))
            out = out + self.scale * moment_aligned(face, out)
        out = attn.to_out[1](attn.to_out[0](out))
        if attn.residual_connection:
            out = out + residual
        return out / attn.rescale_output_factor


class ClipOnlyAttnProcessor(nn.Module):
    """Standard attention over the first ``context_tokens`` context tokens only (the temporal blocks' ``attn2``)."""

    def __init__(self, context_tokens: int = CLIP_TOKENS) -> None:
        super().__init__()
        self.context_tokens = context_tokens
        self.base = AttnProcessor2_0()

    def __call__(self, attn, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor | None = None,
                 attention_mask: torch.Tensor | None = None, temb: torch.Tensor | None = None,
                 *args, **kwargs) -> torch.Tensor:
        if encoder_hidden_states is not None:
            encoder_hidden_states = encoder_hidden_states[:, :self.context_tokens]
        return self.base(attn, hidden_states, encoder_hidden_states, attention_mask, temb)


def is_temporal_cross_attention(processor_name: str) -> bool:
    return processor_name.endswith("attn2.processor") and "temporal_transformer_blocks" in processor_name


def is_identity_layer(processor_name: str) -> bool:
    """Spatial cross-attention layers (StableAnimator's rule: not temporal, ``attn2``)."""
    return (processor_name.endswith("attn2.processor") and "transformer_blocks" in processor_name
            and "temporal_transformer_blocks" not in processor_name)


def install_identity_processors(unet: nn.Module, init_from_to_kv: bool = True) -> None:
    """Give every spatial ``attn2`` an ``IdentityAttnProcessor`` (``id_to_k/v`` copied from ``to_k/v``) and every
    temporal ``attn2`` a ``ClipOnlyAttnProcessor``."""
    processors = {}
    for name, processor in unet.attn_processors.items():
        if is_temporal_cross_attention(name):
            processors[name] = ClipOnlyAttnProcessor()
            continue
        if not is_identity_layer(name):
            processors[name] = processor
            continue
        attn = unet.get_submodule(name[: -len(".processor")])
        layer = IdentityAttnProcessor(attn.to_k.out_features, attn.to_k.in_features)
        layer.to(device=attn.to_k.weight.device, dtype=attn.to_k.weight.dtype)
        if init_from_to_kv and attn.to_k.weight.device.type != "meta":
            with torch.no_grad():
                layer.id_to_k.weight.copy_(attn.to_k.weight)
                layer.id_to_v.weight.copy_(attn.to_v.weight)
        processors[name] = layer
    unet.set_attn_processor(processors)
