"""Reference attention: the ReferenceNet writes, the denoising UNet reads (SPEC §1.1; Moore
``src/models/mutual_self_attention.py``, ``fusion_blocks="full"``).

Write: every spatial transformer block of the ReferenceNet stores the input of its self-attention (``norm1`` of
its hidden states, ``(B, L, c)``) in a bank under the block's name. Read: the same-named block of the denoising UNet
attends with keys/values ``[own tokens ; bank]``, the bank repeated over the clip's frames. Moore pairs blocks by
sorting both UNets' blocks by width; the two UNets have the same layout, so pairing by name is the same pairing.

These are diffusers attention processors on ``attn1`` (motion-module attentions are left alone), so the rest of each
block is stock diffusers code. The reader can also *capture* the self-attention input of chosen blocks, which with
the block's ``to_q``/``to_k`` is everything the Identity Matching Graph needs (SPEC §1.2, ``img.py``).
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from diffusers.models.attention_processor import Attention, AttnProcessor2_0
from torch import nn

from ...errors import InputError


@dataclass(frozen=True)
class ReferenceBank:
    """Per spatial transformer block: the ReferenceNet's self-attention input ``(B, L, c)`` for the reference."""

    features: dict[str, torch.Tensor]

    def to(self, device: torch.device | str, dtype: torch.dtype) -> ReferenceBank:
        return ReferenceBank({k: v.to(device=device, dtype=dtype) for k, v in self.features.items()})


def spatial_self_attentions(unet: nn.Module) -> dict[str, Attention]:
    """``{block name: attn1}`` for the spatial transformer blocks (``…attentions.i.transformer_blocks.j``)."""
    found = {}
    for name, module in unet.named_modules():
        if name.endswith(".attn1") and ".attentions." in name and ".motion_modules." not in name:
            found[name[: -len(".attn1")]] = module
    return found


class _Processor:
    """Plain scaled-dot-product attention with optional extra key/value tokens."""

    def __init__(self) -> None:
        self.base = AttnProcessor2_0()

    def attend(self, attn: Attention, hidden: torch.Tensor, context: torch.Tensor | None,
               attention_mask: torch.Tensor | None, temb: torch.Tensor | None) -> torch.Tensor:
        return self.base(attn, hidden, context, attention_mask, temb)


class _WriteProcessor(_Processor):
    def __init__(self, block: str, writer: ReferenceWriter) -> None:
        super().__init__()
        self.block, self.writer = block, writer

    def __call__(self, attn: Attention, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor | None = None,
                 attention_mask: torch.Tensor | None = None, temb: torch.Tensor | None = None, **_) -> torch.Tensor:
        if self.writer.recording is not None:
            self.writer.recording[self.block] = hidden_states
        return self.attend(attn, hidden_states, None, attention_mask, temb)


class _ReadProcessor(_Processor):
    def __init__(self, block: str, reader: ReferenceReader) -> None:
        super().__init__()
        self.block, self.reader = block, reader

    def __call__(self, attn: Attention, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor | None = None,
                 attention_mask: torch.Tensor | None = None, temb: torch.Tensor | None = None, **_) -> torch.Tensor:
        reader = self.reader
        if self.block in reader.capture:
            reader.captured[self.block] = hidden_states
        if reader.bank is None:  # unconditional branch: attend to own tokens only (SPEC §1.7)
            return self.attend(attn, hidden_states, None, attention_mask, temb)
        reference = reader.bank.features[self.block]
        frames = hidden_states.shape[0] // reference.shape[0]
        context = torch.cat([hidden_states, reference.to(hidden_states.dtype).repeat_interleave(frames, 0)], dim=1)
        return self.attend(attn, hidden_states, context, attention_mask, temb)


class ReferenceWriter:
    """Installed on the ReferenceNet; ``record()`` collects one forward pass's bank."""

    def __init__(self, reference_unet: nn.Module) -> None:
        self.attentions = spatial_self_attentions(reference_unet)
        self.recording: dict[str, torch.Tensor] | None = None
        for block, attn in self.attentions.items():
            attn.set_processor(_WriteProcessor(block, self))

    @contextmanager
    def record(self) -> Iterator[dict[str, torch.Tensor]]:
        """Collect the bank of the forward pass run inside the ``with`` block into the yielded dict."""
        self.recording = {}
        try:
            yield self.recording
        finally:
            self.recording = None


@dataclass
class ReferenceReader:
    """Installed on the denoising UNet; ``reading(bank)`` switches reference attention on for a ``with`` block."""

    attentions: dict[str, Attention]
    bank: ReferenceBank | None = None
    capture: frozenset[str] = frozenset()
    captured: dict[str, torch.Tensor] = field(default_factory=dict)

    @classmethod
    def install(cls, denoising_unet: nn.Module) -> ReferenceReader:
        reader = cls(spatial_self_attentions(denoising_unet))
        for block, attn in reader.attentions.items():
            attn.set_processor(_ReadProcessor(block, reader))
        return reader

    @contextmanager
    def reading(self, bank: ReferenceBank | None, capture: tuple[str, ...] = ()) -> Iterator[dict[str, torch.Tensor]]:
        """Attend to ``bank`` (None: self-attention only) and capture chosen blocks' attn1 inputs ``(B·F, L, c)``."""
        if bank is not None:
            check_bank(bank, self.attentions)
        unknown = sorted(set(capture) - set(self.attentions))
        if unknown:
            raise InputError("matching_blocks", f"{unknown} are not spatial transformer blocks of this UNet",
                             f"choose from {sorted(self.attentions)[:4]} …")
        self.bank, self.capture, self.captured = bank, frozenset(capture), {}
        try:
            yield self.captured
        finally:
            self.bank, self.capture = None, frozenset()

    def projections(self, block: str) -> Attention:
        """The block's self-attention (``to_q``, ``to_k``, ``heads``) for Mask–Query Attention (SPEC §1.2)."""
        return self.attentions[block]


def check_bank(bank: ReferenceBank, attentions: dict[str, Attention]) -> None:
    missing = sorted(set(attentions) - set(bank.features))
    if missing:
        raise InputError("reference", f"the reference bank lacks blocks {missing[:3]} of the denoising UNet",
                         "encode the reference with the ReferenceNet loaded together with this UNet")
