"""The cast: body proportions and looks that make each character recognisable from appearance alone.

Proportions are in units of the character's own height (head ≈ 1/7.5 of it, as in figure drawing). Colours are
drawn from well separated hues so two ordinary characters never look alike; a *lookalike* copies another
character's clothes, colours and hair and differs only by a few percent in height and build and by its shoe
colour — so telling the two apart needs motion and binding, not colour.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

PATTERNS = ("solid", "stripes", "checks", "dots", "vstripes")
HAIR_STYLES = ("short", "long", "bun", "spiky", "bald")
SLEEVES = ("short", "long")
LOWER = ("trousers", "shorts", "skirt")

_SKIN_TONES = ((241, 205, 180), (224, 172, 138), (198, 134, 99), (141, 85, 54), (94, 60, 40), (255, 222, 196))
_HAIR_COLOURS = ((30, 22, 18), (90, 56, 30), (200, 160, 90), (160, 50, 30), (220, 220, 215), (40, 40, 120))
_HUE_STEPS = 12


@dataclass(frozen=True)
class Proportions:
    """Segment lengths and widths as fractions of body height."""

    head_radius: float = 0.065
    neck: float = 0.035
    torso: float = 0.30
    shoulder_width: float = 0.24
    hip_width: float = 0.17
    upper_arm: float = 0.17
    forearm: float = 0.15
    hand: float = 0.09
    thigh: float = 0.24
    shin: float = 0.23
    limb_width: float = 0.055
    leg_width: float = 0.1  # thigh width at the hip; legs taper to 65 % at the knee, 50 % at the ankle
    waist_width: float = 0.20


@dataclass(frozen=True)
class Character:
    """One identity: how tall and how built it is, and what it wears. Colours are RGB uint8 triples."""

    identity: int
    height: float
    proportions: Proportions
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    hair_style: str
    top: tuple[int, int, int]
    top_secondary: tuple[int, int, int]
    pattern: str
    sleeves: str
    bottom: tuple[int, int, int]
    lower: str
    shoes: tuple[int, int, int]
    lookalike_of: int | None = None


def hsv_to_rgb(hue: float, saturation: float, value: float) -> tuple[int, int, int]:
    """Hue in turns [0, 1); all in [0, 1] → RGB uint8 triple."""
    h6 = (hue % 1.0) * 6.0
    c = value * saturation
    x = c * (1 - abs(h6 % 2 - 1))
    rgb = [(c, x, 0), (x, c, 0), (0, c, x), (0, x, c), (x, 0, c), (c, 0, x)][int(h6) % 6]
    m = value - c
    return tuple(int(round(255 * (v + m))) for v in rgb)  # type: ignore[return-value]


def _proportions(rng: np.random.Generator) -> Proportions:
    build = rng.uniform(0.85, 1.2)  # slim ↔ broad
    limbs = rng.uniform(0.93, 1.07)
    return Proportions(
        head_radius=0.065 * rng.uniform(0.9, 1.15), torso=0.30 * rng.uniform(0.94, 1.06),
        shoulder_width=0.24 * build, hip_width=0.17 * rng.uniform(0.9, 1.15), upper_arm=0.17 * limbs,
        forearm=0.15 * limbs, thigh=0.24 * limbs, shin=0.23 * limbs, limb_width=0.055 * build,
        leg_width=0.1 * build, waist_width=0.20 * build,
    )


def _distinct_character(rng: np.random.Generator, identity: int, hue: float) -> Character:
    top_value = rng.uniform(0.7, 0.95)
    bottom_hue = (hue + rng.uniform(0.3, 0.7)) % 1.0
    return Character(
        identity=identity,
        height=float(rng.uniform(0.88, 1.1)),
        proportions=_proportions(rng),
        skin=_SKIN_TONES[rng.integers(len(_SKIN_TONES))],
        hair=_HAIR_COLOURS[rng.integers(len(_HAIR_COLOURS))],
        hair_style=HAIR_STYLES[rng.integers(len(HAIR_STYLES))],
        top=hsv_to_rgb(hue, rng.uniform(0.65, 0.95), top_value),
        top_secondary=hsv_to_rgb(hue + rng.uniform(-0.05, 0.05), rng.uniform(0.1, 0.4), min(1.0, top_value + 0.1)),
        pattern=PATTERNS[rng.integers(len(PATTERNS))],
        sleeves=SLEEVES[rng.integers(len(SLEEVES))],
        bottom=hsv_to_rgb(bottom_hue, rng.uniform(0.3, 0.8), rng.uniform(0.25, 0.6)),
        lower=LOWER[rng.integers(len(LOWER))],
        shoes=hsv_to_rgb(rng.random(), rng.uniform(0.0, 0.6), rng.uniform(0.1, 0.9)),
    )


def _lookalike(rng: np.random.Generator, original: Character, identity: int) -> Character:
    """Same clothes, colours and hair; a few percent taller or shorter, a slightly different build and shoes."""
    sign = 1.0 if rng.random() < 0.5 else -1.0
    build = float(rng.uniform(0.93, 1.07))
    p = original.proportions
    return replace(
        original, identity=identity, lookalike_of=original.identity,
        height=float(original.height * (1 + sign * rng.uniform(0.04, 0.07))),
        proportions=replace(p, shoulder_width=p.shoulder_width * build, waist_width=p.waist_width * build),
        shoes=hsv_to_rgb(rng.random(), rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.8)),
    )


def sample_cast(rng: np.random.Generator, count: int, lookalike_pairs: int = 0) -> tuple[Character, ...]:
    """``count`` characters with identities ``0..count-1``; the last ``lookalike_pairs`` copy earlier ones.

    Hues are taken from a shuffled 12-step wheel, so ordinary characters differ by at least 30° of hue.
    """
    hues = (rng.permutation(_HUE_STEPS) + rng.uniform(0, 1)) / _HUE_STEPS
    originals = count - lookalike_pairs
    cast = [_distinct_character(rng, i, float(hues[i])) for i in range(originals)]
    for k in range(lookalike_pairs):
        cast.append(_lookalike(rng, cast[k], originals + k))
    return tuple(cast)
