"""The Wan transformer forward in separable steps, under two conventions: ``official`` and ``native``.

``official`` follows the code the weights were trained with (Wan2.1 ``wan/modules/model.py``, zai-org/SCAIL-2
``model_scail2.py``): float64 timestep sinusoid, text padded to 512 tokens by the caller, the CLIP image tokens
always given. ``native`` reproduces native ComfyUI's re-implementation (``comfy/ldm/wan/model.py``) exactly, so
results can be compared with it token for token:

* float32 timestep sinusoid ``10000 ** (-k / half)``;
* the context is used as given (any length; the image/text split is the number of CLIP tokens given, not
  "everything but the last 512 rows" as diffusers' processor assumes);
* without CLIP tokens the image branch (``k_img``/``v_img``) attends over the text tokens and is added;
* odd latent sizes are padded circularly to the patch size and the output is cropped back.

Blocks, norms, attention projections and the head are diffusers' own modules; only the cross-attention's
context split (``SplitCrossAttnProcessor``) and the order of the steps are ours.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from diffusers.models.transformers.transformer_wan import WanAttnProcessor

OFFICIAL = "official"
NATIVE = "native"
COMPATS = (OFFICIAL, NATIVE)


def check_compat(compat: str) -> str:
    if compat not in COMPATS:
        raise ValueError(f"compat must be one of {COMPATS}, not {compat!r}")
    return compat


@dataclass(frozen=True)
class CrossContext:
    """Embedded cross-attention context: ``text`` ``(B, L, dim)`` and optional CLIP ``image`` ``(B, N, dim)``.

    ``image_attends_text``: with no image tokens, let the image branch attend over the text (native ComfyUI);
    otherwise the image branch is skipped.
    """

    text: torch.Tensor
    image: torch.Tensor | None = None
    image_attends_text: bool = False

    def image_keys(self) -> torch.Tensor | None:
        if self.image is not None:
            return self.image
        return self.text if self.image_attends_text else None


def _attend(attn, query: torch.Tensor, context: torch.Tensor, key_proj, value_proj, key_norm) -> torch.Tensor:
    key = key_norm(key_proj(context)).unflatten(2, (attn.heads, -1)).transpose(1, 2)
    value = value_proj(context).unflatten(2, (attn.heads, -1)).transpose(1, 2)
    out = F.scaled_dot_product_attention(query, key, value, dropout_p=0.0, is_causal=False)
    return out.transpose(1, 2).flatten(2, 3).type_as(query)


class SplitCrossAttnProcessor(WanAttnProcessor):
    """Wan cross-attention that takes a ``CrossContext`` (explicit image/text split); plain tensors get
    diffusers' behaviour unchanged."""

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, rotary_emb=None):
        if not isinstance(encoder_hidden_states, CrossContext):
            return super().__call__(attn, hidden_states, encoder_hidden_states, attention_mask, rotary_emb)
        ctx = encoder_hidden_states
        query = attn.norm_q(attn.to_q(hidden_states)).unflatten(2, (attn.heads, -1)).transpose(1, 2)
        out = _attend(attn, query, ctx.text, attn.to_k, attn.to_v, attn.norm_k)
        image = ctx.image_keys()
        if image is not None and attn.add_k_proj is not None:
            out = out + _attend(attn, query, image, attn.add_k_proj, attn.add_v_proj, attn.norm_added_k)
        return attn.to_out[1](attn.to_out[0](out))


def use_split_cross_attention(model: torch.nn.Module) -> None:
    """Give every block's cross-attention the ``CrossContext``-aware processor (idempotent)."""
    for block in model.blocks:
        if not isinstance(block.attn2.processor, SplitCrossAttnProcessor):
            block.attn2.set_processor(SplitCrossAttnProcessor())


def timestep_sinusoid(timestep: torch.Tensor, dim: int, compat: str) -> torch.Tensor:
    """``[cos, sin]`` of ``t · 10000^(-k/half)``: float64 in the official code, float32 in native ComfyUI."""
    dtype = torch.float64 if check_compat(compat) == OFFICIAL else torch.float32
    half = dim // 2
    exponent = -torch.arange(half, dtype=dtype, device=timestep.device) / half
    freqs = torch.pow(torch.tensor(10000.0, dtype=dtype, device=timestep.device), exponent)
    args = timestep.reshape(-1).to(dtype)[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1).float()


def time_conditions(model: torch.nn.Module, timestep: torch.Tensor, dtype: torch.dtype, compat: str
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """``temb`` ``(B, dim)`` for the head and the blocks' modulation ``(B, 6, dim)``."""
    embedder = model.condition_embedder
    weight = embedder.time_embedder.linear_1.weight.dtype
    sinusoid = timestep_sinusoid(timestep, embedder.time_embedder.linear_1.in_features, compat)
    temb = embedder.time_embedder(sinusoid.to(weight if weight.itemsize >= 2 else dtype)).to(dtype)
    proj = embedder.time_proj(embedder.act_fn(temb))
    return temb, proj.unflatten(1, (6, -1))


def cross_context(model: torch.nn.Module, text: torch.Tensor, image: torch.Tensor | None, compat: str
                  ) -> CrossContext:
    """Embed the text (and CLIP tokens); native lets the image branch read the text when there is no CLIP."""
    embedder = model.condition_embedder
    text = embedder.text_embedder(text)
    if image is not None and embedder.image_embedder is not None:
        return CrossContext(text, embedder.image_embedder(image).to(text.dtype))
    return CrossContext(text, None, image_attends_text=check_compat(compat) == NATIVE)


def patch_padding(size: tuple[int, int], patch: tuple[int, int, int]) -> tuple[int, int]:
    """Rows and columns to add so ``size`` divides into patches."""
    return (-size[0]) % patch[1], (-size[1]) % patch[2]


def pad_circular(x: torch.Tensor, patch: tuple[int, int, int]) -> torch.Tensor:
    """``(B, C, F, h, w)`` padded at the bottom/right to patch multiples with copies of row/column 0 (native)."""
    ph, pw = patch_padding(tuple(x.shape[-2:]), patch)
    return F.pad(x, (0, pw, 0, ph, 0, 0), mode="circular") if ph or pw else x


def patch_tokens(conv: torch.nn.Conv3d, x: torch.Tensor) -> tuple[torch.Tensor, torch.Size]:
    """``(B, N, dim)`` tokens (t-major, then h, then w) and the patch grid of ``x`` through ``conv``."""
    y = conv(x.to(conv.weight.dtype))
    return y.flatten(2).transpose(1, 2), y.shape[2:]


def run_blocks(model: torch.nn.Module, tokens: torch.Tensor, cross: CrossContext, proj: torch.Tensor,
               phasors: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    for block in model.blocks:
        if torch.is_grad_enabled() and model.gradient_checkpointing:
            tokens = model._gradient_checkpointing_func(block, tokens, cross, proj, phasors)
        else:
            tokens = block(tokens, cross, proj, phasors)
    return tokens


def head(model: torch.nn.Module, tokens: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
    shift, scale = (model.scale_shift_table.to(temb.device) + temb.unsqueeze(1)).chunk(2, dim=1)
    tokens = (model.norm_out(tokens.float()) * (1 + scale) + shift).type_as(tokens)
    return model.proj_out(tokens)


def unpatchify(tokens: torch.Tensor, grid: tuple[int, int, int], patch: tuple[int, int, int],
               crop: tuple[int, int, int]) -> torch.Tensor:
    """``(B, N, pt·ph·pw·C)`` → ``(B, C, F, h, w)`` cropped to ``crop`` (channel fastest inside a patch)."""
    b = tokens.shape[0]
    f, h, w = grid
    pt, ph, pw = patch
    x = tokens.reshape(b, f, h, w, pt, ph, pw, -1).permute(0, 7, 1, 4, 2, 5, 3, 6)
    x = x.reshape(b, -1, f * pt, h * ph, w * pw)
    return x[:, :, : crop[0], : crop[1], : crop[2]]


def wan_forward(model: torch.nn.Module, hidden_states: torch.Tensor, timestep: torch.Tensor, text: torch.Tensor,
                image: torch.Tensor | None, compat: str = NATIVE) -> torch.Tensor:
    """Stock Wan (I2V 36-channel or T2V) velocity ``(B, out, F, h, w)`` with these steps, so the ``native``
    conventions (context of any length, no-CLIP, odd latent sizes) apply; positions t, h, w from 0, no offsets."""
    from .rope import grid_phasors, positions

    use_split_cross_attention(model)
    patch = tuple(model.config.patch_size)
    _, _, f, h, w = hidden_states.shape
    if check_compat(compat) == OFFICIAL and any(patch_padding((h, w), patch)):
        raise ValueError(f"latent {h}x{w} is not a multiple of the patch size; use even sizes or compat='native'")
    tokens, grid = patch_tokens(model.patch_embedding, pad_circular(hidden_states, patch))
    cos, sin = grid_phasors(*(positions(n) for n in grid), model.config.attention_head_dim)
    phasors = (cos.reshape(1, -1, 1, cos.shape[-1]).to(tokens.device),
               sin.reshape(1, -1, 1, sin.shape[-1]).to(tokens.device))
    temb, proj = time_conditions(model, timestep, tokens.dtype, compat)
    cross = cross_context(model, text.to(tokens.dtype), None if image is None else image.to(tokens.dtype), compat)
    tokens = run_blocks(model, tokens, cross, proj, phasors)
    return unpatchify(head(model, tokens, temb), tuple(grid), patch, (f, h, w))
