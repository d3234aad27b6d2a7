"""`SceneConfig`: what a synthetic scene should contain, validated before any pixel is drawn.

Limits are named constants so a caller (node, CLI, training) can show them: at most ``MAX_CHARACTERS`` people,
because the binding-slot layout of SCAIL-2 has 6 colours (SPEC §3.2); sides a multiple of ``RESOLUTION_MULTIPLE``
because the VAEs downsample by 8 and Wan patchifies by 2 (SPEC §0.2).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError

MAX_CHARACTERS = 6
RESOLUTION_MULTIPLE = 16
MIN_SIDE, MAX_SIDE = 64, 2048
MAX_FRAMES = 10_000
MAX_MASK_BYTES = 4 * 2**30  # the four (T, P, H, W) bool mask arrays of one scene must fit in this

CHOREOGRAPHIES = ("dance", "swap", "circle", "cross", "exit", "fewer", "sizes")
"""Composable motions (see ``choreography.py`` for what each does and the fixed order they are applied in)."""

NEEDS_TWO = frozenset({"swap", "cross", "fewer"})
BACKGROUNDS = ("plain", "textured")


def parse_choreography(value: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """``"dance+swap"``, ``"dance, swap"`` or ``("dance", "swap")`` → canonical ordered tuple of known names."""
    names = value.replace(",", "+").split("+") if isinstance(value, str) else list(value)
    names = [n.strip().lower() for n in names if n.strip()]
    unknown = [n for n in names if n not in CHOREOGRAPHIES]
    if unknown:
        raise InputError("choreography", f"unknown name(s) {unknown}",
                         f"use any of {', '.join(CHOREOGRAPHIES)} joined with '+', e.g. 'dance+swap'")
    return tuple(n for n in CHOREOGRAPHIES if n in names)


@dataclass(frozen=True)
class SceneConfig:
    """One scene: ``characters`` people over ``frames`` frames of ``width × height``.

    choreography: names from ``CHOREOGRAPHIES`` (a tuple or a ``"dance+swap"`` string).
    speed: multiplies how fast everything moves (dance tempo, walking, circling); amplitude: how far limbs and
    paths swing. lookalikes: how many pairs of characters share clothes and colours and differ only subtly.
    """

    characters: int = 3
    frames: int = 48
    width: int = 256
    height: int = 256
    choreography: tuple[str, ...] = ("dance",)
    speed: float = 1.0
    amplitude: float = 1.0
    background: str = "plain"
    lookalikes: int = 0
    fps: float = 24.0
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "choreography", parse_choreography(self.choreography))
        _check_int("characters", self.characters, 1, MAX_CHARACTERS, "choose 1 to 6 characters")
        _check_int("frames", self.frames, 1, MAX_FRAMES, "ask for at least 1 frame")
        for name in ("width", "height"):
            _check_side(name, getattr(self, name))
        mask_bytes = 4 * self.frames * self.characters * self.width * self.height
        if mask_bytes > MAX_MASK_BYTES:
            raise InputError("frames", f"{self.frames} frames of {self.characters} characters at "
                             f"{self.width}x{self.height} need {mask_bytes / 2**30:.1f} GiB of masks",
                             "generate shorter clips (the dataset writer splits data into scenes) or a smaller size")
        if not self.speed > 0 or self.speed > 10:
            raise InputError("speed", f"{self.speed} is outside (0, 10]", "use 1.0 for normal speed")
        if not 0 <= self.amplitude <= 3:
            raise InputError("amplitude", f"{self.amplitude} is outside [0, 3]", "use 1.0 for normal amplitude")
        if self.background not in BACKGROUNDS:
            raise InputError("background", f"unknown background {self.background!r}", f"use one of {BACKGROUNDS}")
        _check_int("lookalikes", self.lookalikes, 0, self.characters // 2,
                   f"with {self.characters} characters use 0 to {self.characters // 2} lookalike pairs")
        if not 0 < self.fps <= 240:
            raise InputError("fps", f"{self.fps} is outside (0, 240]", "use e.g. 16 or 24")
        _check_int("seed", self.seed, 0, 2**63 - 1, "use a non-negative integer seed")
        if "fewer" in self.choreography and {"swap", "cross"} & set(self.choreography) and self.characters < 3:
            raise InputError("choreography", "'fewer' with 'swap' or 'cross' needs at least 3 characters",
                             "raise characters to 3 or more, or drop 'fewer'")
        needing_two = sorted(NEEDS_TWO.intersection(self.choreography))
        if needing_two and self.characters < 2:
            raise InputError("choreography", f"{needing_two} need at least 2 characters",
                             "raise characters to 2 or more, or drop those choreographies")


def _check_int(name: str, value: object, low: int, high: int, fix: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(name, f"must be an integer, got {value!r}", fix)
    if not low <= value <= high:
        raise InputError(name, f"{value} is outside [{low}, {high}]", fix)


def _check_side(name: str, value: object) -> None:
    fix = f"use a multiple of {RESOLUTION_MULTIPLE} between {MIN_SIDE} and {MAX_SIDE}, e.g. 256 or 512"
    _check_int(name, value, MIN_SIDE, MAX_SIDE, fix)
    if value % RESOLUTION_MULTIPLE:
        raise InputError(name, f"{value} is not a multiple of {RESOLUTION_MULTIPLE}", fix)
