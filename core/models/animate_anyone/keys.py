"""Moore-AnimateAnyone / AnimateDiff names → the diffusers names of ``networks.py``.

* Spatial UNet weights already carry diffusers names (Moore's inflated convs/norms subclass the 2-D ones).
* Motion modules (``motion_module.pth``, AnimateDiff v2 layout) differ in four places, the same renames diffusers'
  AnimateDiff converter applies: ``temporal_transformer.`` disappears, ``attention_blocks.{0,1}`` → ``attn{1,2}``,
  ``norms.{0,1}`` → ``norm{1,2}``, ``ff_norm`` → ``norm3``. Each attention block has its own sinusoidal table
  ``pos_encoder.pe``; diffusers keeps one (``pos_embed.pe``) and adds it before both attentions. The tables are a
  fixed function of position, so the second one must equal the first (checked on load) and is not stored.
* sd-vae-ft-mse files from 2022 may still use the old attention names ``query/key/value/proj_attn``.
"""
from __future__ import annotations

import re

MOTION_RENAMES = (
    (".temporal_transformer.", "."),
    (".attention_blocks.0.pos_encoder.pe", ".pos_embed.pe"),
    (".attention_blocks.0.", ".attn1."),
    (".attention_blocks.1.", ".attn2."),
    (".norms.0.", ".norm1."),
    (".norms.1.", ".norm2."),
    (".ff_norm.", ".norm3."),
)
SECOND_POSITION_TABLE = re.compile(r"\.attention_blocks\.1\.pos_encoder\.pe$")
FIRST_POSITION_TABLE = ".attention_blocks.0.pos_encoder.pe"

VAE_RENAMES = ((".query.", ".to_q."), (".key.", ".to_k."), (".value.", ".to_v."), (".proj_attn.", ".to_out.0."))


def _apply(name: str, renames: tuple[tuple[str, str], ...]) -> str:
    for old, new in renames:
        name = name.replace(old, new)
    return name


def motion_to_diffusers(name: str) -> str | None:
    """Diffusers name of a motion-module key, or None for the duplicate position table of the second attention."""
    if SECOND_POSITION_TABLE.search(name):
        return None
    return _apply(name, MOTION_RENAMES)


def duplicate_of(name: str) -> str:
    """The first attention's position-table key that a skipped second-attention table must equal."""
    return SECOND_POSITION_TABLE.sub(FIRST_POSITION_TABLE, name)


def is_motion_key(name: str) -> bool:
    return ".motion_modules." in name


def is_old_motion_layout(names: list[str] | set[str]) -> bool:
    """True for AnimateDiff/Moore names (``temporal_transformer``), False for diffusers MotionAdapter names."""
    return any(".temporal_transformer." in n for n in names)


def vae_to_diffusers(name: str) -> str:
    """Current diffusers name of an sd-vae-ft-mse key (old attention names are renamed, others pass)."""
    if ".attentions." not in name:
        return name
    return _apply(name, VAE_RENAMES)


def motion_from_diffusers(name: str) -> list[str]:
    """Moore/AnimateDiff name(s) of a diffusers motion-module key (the position table goes to both attentions)."""
    if name.endswith(".pos_embed.pe"):
        stem = name[: -len(".pos_embed.pe")]
        return [_to_motion_layout(stem) + f".attention_blocks.{i}.pos_encoder.pe" for i in (0, 1)]
    return [_to_motion_layout(name)]


def _to_motion_layout(name: str) -> str:
    head, sep, rest = name.partition(".motion_modules.")
    index, _, inner = rest.partition(".")
    for old, new in ((".attn1.", ".attention_blocks.0."), (".attn2.", ".attention_blocks.1."),
                     (".norm1.", ".norms.0."), (".norm2.", ".norms.1."), (".norm3.", ".ff_norm.")):
        inner = ("." + inner).replace(old, new)[1:]
    return f"{head}{sep}{index}.temporal_transformer.{inner}"
