"""Where each character stands over time: floor position, distance from the camera, and presence.

A scene starts from the reference layout — characters evenly spaced, left to right in the reference order, at
about the same distance — and each named choreography edits those paths. They compose: they are always applied
in the order sizes, fewer, swap, circle, cross, exit, dance, each on the paths the previous
left, and each picks its actors among the characters still in the scene. Timed events (swap, cross, exit) last a
fixed number of seconds divided by ``speed``, squeezed to fit the clip and centred in it.

The static camera looks at a flat floor: a character at distance ``z`` is drawn ``REFERENCE_DISTANCE / z`` times
its reference size with its feet that much further below the horizon, so nearer people are bigger and lower.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import SceneConfig

REFERENCE_DISTANCE = 3.0
NEAR_DISTANCE, MAX_DISTANCE = 2.4, 20.0  # "cross": where the passer walks, and how far the hidden one may go
CROTCH, SHOULDERS = 0.5, 0.75  # heights (fraction of body height, with margins) bounding the passer's trunk
FEET_AT_REFERENCE = 0.92  # fraction of frame height where feet touch at the reference distance
EYE_LEVEL = 0.68  # camera height as a fraction of the reference body height (chest height)
SWAP_SECONDS, CROSS_SECONDS, EXIT_SECONDS = 2.0, 3.0, 1.5
CIRCLE_TURNS_PER_SECOND = 0.2
SIZE_RANGE = (0.6, 1.25)  # body-size multipliers spread across characters by "sizes"


@dataclass(frozen=True)
class Camera:
    """Pinhole camera over a flat floor, in pixels."""

    body_height: float  # pixel height of a height-1 character at REFERENCE_DISTANCE
    horizon: float

    @classmethod
    def for_scene(cls, config: SceneConfig) -> Camera:
        body = min(0.55 * config.height, 2.2 * config.width / config.characters)
        return cls(body, FEET_AT_REFERENCE * config.height - EYE_LEVEL * body)

    def scale(self, z: np.ndarray) -> np.ndarray:
        return REFERENCE_DISTANCE / np.asarray(z)

    def ground_y(self, z: np.ndarray) -> np.ndarray:
        return self.horizon + EYE_LEVEL * self.body_height * self.scale(z)


@dataclass(frozen=True)
class Paths:
    """x: ``(T, P)`` pelvis x in pixels; z: ``(T, P)`` distance (larger = farther); in_scene: ``(T, P)`` bool;
    size: ``(P,)`` body-size multiplier; dance: ``(P,)`` dance amplitude (0 = idle); still: ``(P,)`` bool, no dance
    and limbs close to the body (the pair of "cross", so the hidden one fits inside the passer)."""

    x: np.ndarray
    z: np.ndarray
    in_scene: np.ndarray
    size: np.ndarray
    dance: np.ndarray
    still: np.ndarray


def slot_x(config: SceneConfig, position: int) -> float:
    """Pelvis x of the ``position``-th character from the left in the evenly spaced reference layout."""
    return config.width * (0.1 + 0.8 * (position + 0.5) / config.characters)


def reference_depths(rng: np.random.Generator, count: int) -> np.ndarray:
    """Distances near REFERENCE_DISTANCE, distinct so depth order is never a tie."""
    return REFERENCE_DISTANCE + (rng.permutation(count) - (count - 1) / 2) * 0.04


def plan_paths(config: SceneConfig, rng: np.random.Generator, order: tuple[int, ...],
               depths: np.ndarray, heights: np.ndarray) -> Paths:
    """Paths for identities ``0..P-1`` laid out in reference ``order``, then edited by each choreography."""
    frames, count = config.frames, config.characters
    x = np.empty((frames, count))
    for position, identity in enumerate(order):
        x[:, identity] = slot_x(config, position)
    paths = Paths(x=x, z=np.tile(depths, (frames, 1)), in_scene=np.ones((frames, count), bool),
                  size=np.ones(count), dance=np.zeros(count), still=np.zeros(count, bool))
    for name, edit in _EDITS.items():  # fixed application order, whatever order the user wrote
        if name in config.choreography:
            edit(paths, config, rng, order, heights)
    return paths


def _window(config: SceneConfig, seconds: float) -> tuple[int, int]:
    """A centred ``[start, stop)`` frame window lasting ``seconds / speed``, at most the whole clip."""
    length = min(config.frames, max(2, round(seconds * config.fps / config.speed)))
    start = (config.frames - length) // 2
    return start, start + length


def _ease(frames: int, start: int, stop: int) -> np.ndarray:
    """``(T,)`` 0 before ``start``, smooth rise, 1 from ``stop - 1`` on."""
    u = np.clip((np.arange(frames) - start) / max(stop - 1 - start, 1), 0, 1)
    return u * u * (3 - 2 * u)


def _actors(paths: Paths, order: tuple[int, ...]) -> list[int]:
    """Identities still in the scene, left to right in the reference order."""
    return [i for i in order if paths.in_scene[:, i].any()]


def _adjacent_pair(paths: Paths, rng: np.random.Generator, order: tuple[int, ...]) -> tuple[int, int]:
    actors = _actors(paths, order)
    k = int(rng.integers(len(actors) - 1))
    return actors[k], actors[k + 1]


def _sizes(paths: Paths, config: SceneConfig, rng: np.random.Generator, order, heights) -> None:
    spread = np.linspace(*SIZE_RANGE, config.characters) if config.characters > 1 else rng.uniform(*SIZE_RANGE, 1)
    paths.size[:] = rng.permutation(spread)


def _fewer(paths: Paths, config: SceneConfig, rng: np.random.Generator, order, heights) -> None:
    keep_at_least = 2 if {"swap", "cross"} & set(config.choreography) else 1
    removed = rng.choice(config.characters, size=int(rng.integers(1, config.characters - keep_at_least + 1)),
                         replace=False)
    paths.in_scene[:, removed] = False


def _swap(paths: Paths, config: SceneConfig, rng: np.random.Generator, order, heights) -> None:
    a, b = _adjacent_pair(paths, rng, order)
    start, stop = _window(config, SWAP_SECONDS)
    s = _ease(config.frames, start, stop)
    xa, xb = paths.x[:, a].copy(), paths.x[:, b].copy()
    paths.x[:, a], paths.x[:, b] = xa + (xb - xa) * s, xb + (xa - xb) * s
    detour = 0.5 * np.sin(np.pi * s)  # one passes in front, the other behind
    paths.z[:, a] -= detour
    paths.z[:, b] += detour


def _circle(paths: Paths, config: SceneConfig, rng: np.random.Generator, order, heights) -> None:
    actors = _actors(paths, order)
    t = np.arange(config.frames) / config.fps
    angle = 2 * np.pi * CIRCLE_TURNS_PER_SECOND * config.speed * t
    radius = 0.3 * config.width * min(config.amplitude, 1.5)
    blend = _ease(config.frames, 0, max(2, round(config.fps / config.speed)))[:, None]
    start = np.pi + 2 * np.pi * (np.arange(len(actors)) + 0.5) / len(actors)
    theta = start[None, :] + angle[:, None]
    circle_x = config.width / 2 + radius * np.cos(theta)
    circle_z = REFERENCE_DISTANCE + 0.3 + 0.6 * np.sin(theta)
    paths.x[:, actors] = (1 - blend) * paths.x[:, actors] + blend * circle_x
    paths.z[:, actors] = (1 - blend) * paths.z[:, actors] + blend * circle_z


def _cross(paths: Paths, config: SceneConfig, rng: np.random.Generator, order, heights) -> None:
    """The taller of an adjacent pair walks in front of the other, pausing while it hides it completely.

    The passer comes towards the camera while the other walks away, and both stand at attention (arms against the
    body, feet together) rather than dance. The hidden one goes just far enough (``_hiding_ratio``) for its whole
    silhouette to lie between the passer's shoulder line and crotch — a complete occlusion, not a partial one
    through the gaps between limbs.
    """
    a, b = _adjacent_pair(paths, rng, order)
    front, back = (a, b) if heights[a] * paths.size[a] >= heights[b] * paths.size[b] else (b, a)
    start, stop = _window(config, CROSS_SECONDS)
    third = (stop - start) // 3
    x0, xb = paths.x[start, front], paths.x[start, back]
    x1 = float(np.clip(2 * xb - x0, 0.08 * config.width, 0.92 * config.width))
    go, leave = _ease(config.frames, start, start + third), _ease(config.frames, stop - third, stop)
    paths.x[:, front] = x0 + (xb - x0) * go + (x1 - xb) * leave
    hide_at = NEAR_DISTANCE / _hiding_ratio(heights[front] * paths.size[front], heights[back] * paths.size[back])
    paths.z[:, front] += (NEAR_DISTANCE - paths.z[:, front]) * go
    paths.z[:, back] += (min(hide_at, MAX_DISTANCE) - paths.z[:, back]) * go
    paths.still[[front, back]] = True


def _hiding_ratio(front: float, back: float) -> float:
    """Largest size ratio (back / front distance scale) that puts a ``back``-tall figure fully behind ``front``.

    Heights are in reference body heights. Far figures converge on the horizon (camera height ``EYE_LEVEL``), so
    the hidden one must be far enough for its feet to rise above the passer's crotch (``CROTCH`` of its height up)
    and, when it is taller than the camera height, for its head to sink below the passer's shoulder line.
    """
    ratios = [1 - CROTCH * front / EYE_LEVEL, 0.4 * front / back]
    if back > EYE_LEVEL:
        ratios.append((SHOULDERS * front - EYE_LEVEL) / (back - EYE_LEVEL))
    return max(min(ratios), NEAR_DISTANCE / MAX_DISTANCE)


def _exit(paths: Paths, config: SceneConfig, rng: np.random.Generator, order, heights) -> None:
    """An end character walks out of frame on its side, stays out, and walks back to where it was."""
    actors = _actors(paths, order)
    who, side = (actors[0], -1.0) if rng.random() < 0.5 else (actors[-1], 1.0)
    start, stop = _window(config, 3 * EXIT_SECONDS)
    third = (stop - start) // 3
    reach = config.width * 0.1 + 0.8 * heights[who] * paths.size[who] * Camera.for_scene(config).body_height
    off = -reach if side < 0 else config.width + reach
    out = _ease(config.frames, start, start + third) - _ease(config.frames, stop - third, stop)
    paths.x[:, who] = paths.x[:, who] + (off - paths.x[:, who]) * out


def _dance(paths: Paths, config: SceneConfig, rng: np.random.Generator, order, heights) -> None:
    paths.dance[:] = np.where(paths.still, 0.0, config.amplitude)


_EDITS = {"sizes": _sizes, "fewer": _fewer, "swap": _swap, "circle": _circle, "cross": _cross, "exit": _exit,
          "dance": _dance}
