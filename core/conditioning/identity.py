"""The identity map: which binding slot (colour) each tracked identity owns, decided once for the whole clip.

Skeleton hues, mask colours, the 28-channel binding slots and the reference character slots all read this map;
none of them re-derives who is who (SPEC §0.5 hue assignment, §3.2 colour assignment).

Slots are assigned left-to-right (ED's ``r_1…r_m`` and SCAIL-2's default), by area, by track id, or from a user
mapping; training can randomly permute them so a model cannot learn "red = left". With more identities than
the six slots, SCAIL-2 lets two characters share a slot when they are far apart: an extra identity takes the slot
whose holders stay farthest from it, and is refused when every slot's holders come too close.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..pose.sequence import PoseSequence
from ..render.palette import NUM_SLOTS, SLOT_NAMES, check_slot

ORDERS = ("left_to_right", "area", "track_id")
MIN_SCORE = 0.3


@dataclass(frozen=True)
class IdentityMap:
    """``track_ids[i]`` owns binding slot ``slots[i]`` (0..5: red, green, blue, yellow, magenta, cyan).

    Two identities may share a slot only when the map was built with the far-apart reuse rule; ``shared_slots``
    lists them so later stages can report it.
    """

    track_ids: tuple[int, ...]
    slots: tuple[int, ...]

    def __post_init__(self) -> None:
        ids = tuple(int(i) for i in self.track_ids)
        slots = tuple(int(s) for s in self.slots)
        if len(ids) != len(slots):
            raise ValueError(f"IdentityMap has {len(ids)} track ids but {len(slots)} slots")
        if len(set(ids)) != len(ids):
            raise ValueError(f"IdentityMap.track_ids must be unique; got {ids}")
        for slot in slots:
            check_slot(slot)
        object.__setattr__(self, "track_ids", ids)
        object.__setattr__(self, "slots", slots)

    def slot_of(self, track_id: int) -> int:
        try:
            return self.slots[self.track_ids.index(int(track_id))]
        except ValueError:
            raise KeyError(f"track id {track_id} is not in the identity map (ids: {self.track_ids})") from None

    def slots_for(self, poses: PoseSequence, input_name: str = "poses") -> np.ndarray:
        """``(P,)`` slot per person column of ``poses``; every track must be in the map."""
        missing = [t for t in poses.track_ids if t not in self.track_ids]
        if missing:
            raise InputError(input_name, f"track ids {missing} are not in the identity map {self.track_ids}",
                             "build the identity map from these same poses, or add the ids to its mapping")
        return np.array([self.slot_of(t) for t in poses.track_ids], dtype=np.int64)

    @property
    def shared_slots(self) -> dict[int, tuple[int, ...]]:
        """Slots held by more than one identity (only after far-apart reuse)."""
        holders: dict[int, list[int]] = {}
        for track, slot in zip(self.track_ids, self.slots):
            holders.setdefault(slot, []).append(track)
        return {s: tuple(t) for s, t in holders.items() if len(t) > 1}

    def describe(self) -> str:
        """``"3:red, 5:green"``: readable, and accepted back as a ``mapping`` string."""
        return ", ".join(f"{t}:{SLOT_NAMES[s]}" for t, s in zip(self.track_ids, self.slots))


def stream_order(identity_map: IdentityMap, track_ids: tuple[int, ...] | None = None) -> list[int]:
    """Track ids ordered by slot (ties, from slot reuse, by map order): the one person order shared by
    per-person pose maps, masks, character slots and face tokens (DanceTogether binds streams by order, SPEC
    §2.3). With the default left-to-right map this is left to right."""
    ids = identity_map.track_ids if track_ids is None else tuple(track_ids)
    return sorted(ids, key=lambda t: (identity_map.slot_of(t), identity_map.track_ids.index(t)))


def parse_mapping(text: str, input_name: str = "mapping") -> dict[int, int]:
    """``"3:0, 5:green"`` -> ``{3: 0, 5: 1}`` (track id : slot number or colour name)."""
    mapping: dict[int, int] = {}
    for item in (p.strip() for p in re.split(r"[,;\n]", text or "")):
        if not item:
            continue
        match = re.fullmatch(r"(\d+)\s*[:=]\s*(\w+)", item)
        if not match:
            raise InputError(input_name, f"cannot read '{item}'", "write pairs like '3:0, 5:green' (track id : slot)")
        track, value = int(match.group(1)), match.group(2).lower()
        slot = SLOT_NAMES.index(value) if value in SLOT_NAMES else int(value) if value.isdigit() else -1
        if not 0 <= slot < NUM_SLOTS:
            raise InputError(input_name, f"'{value}' is not a slot",
                             f"use 0..{NUM_SLOTS - 1} or one of {', '.join(SLOT_NAMES)}")
        if track in mapping:
            raise InputError(input_name, f"track {track} is mapped twice", "give each track id once")
        mapping[track] = slot
    return mapping


def centroids(poses: PoseSequence, min_score: float = MIN_SCORE) -> np.ndarray:
    """``(T, P, 2)`` mean of visible keypoints, NaN where the person is absent."""
    visible = poses.keypoints[..., 2] > min_score
    count = visible.sum(axis=-1, keepdims=True)
    total = np.where(visible[..., None], poses.keypoints[..., :2], 0.0).sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def _order_keys(poses: PoseSequence, order: str) -> np.ndarray:
    """Sort key per column (smaller first); people never seen sort last."""
    if order == "track_id":
        return np.array(poses.track_ids, dtype=np.float64)
    present = poses.present(MIN_SCORE)
    first = np.argmax(present, axis=0)
    seen = present.any(axis=0)
    cols = np.arange(poses.num_people)
    if order == "left_to_right":
        key = centroids(poses)[first, cols, 0]
    elif order == "area":
        kp = poses.keypoints[first, cols]
        vis = kp[..., 2] > MIN_SCORE
        lo = np.where(vis[..., None], kp[..., :2], np.inf).min(axis=1)
        hi = np.where(vis[..., None], kp[..., :2], -np.inf).max(axis=1)
        key = -np.prod(np.where(np.isfinite(hi - lo), hi - lo, 0.0), axis=1)
    else:
        raise InputError("order", f"unknown order '{order}'", f"choose one of {', '.join(ORDERS)}")
    return np.where(seen, key, np.inf)


def separation(poses: PoseSequence) -> np.ndarray:
    """``(P, P)`` closest approach of each pair's centroids over co-present frames, as a fraction of the
    canvas diagonal (``inf`` when two people are never on screen together)."""
    c = centroids(poses)
    diff = np.linalg.norm(c[:, :, None, :] - c[:, None, :, :], axis=-1) / np.hypot(poses.width, poses.height)
    with np.errstate(all="ignore"):
        closest = np.nanmin(np.where(np.isnan(diff), np.inf, diff), axis=0)
    return closest


def _reuse_slot(column: int, holders: dict[int, list[int]], apart: np.ndarray, min_separation: float,
                track_id: int) -> int:
    """The slot whose holders stay farthest from ``column``; refuse when even that one comes too close."""
    best_slot, best = -1, -1.0
    for slot in range(NUM_SLOTS):
        gap = min((apart[column, h] for h in holders.get(slot, [])), default=np.inf)
        if gap > best:
            best_slot, best = slot, gap
    if best < min_separation:
        raise InputError(
            "poses", f"more than {NUM_SLOTS} identities and track {track_id} comes within {best:.2f} of the "
            f"canvas diagonal of every slot's holder (reuse needs at least {min_separation:.2f})",
            "lower min_separation, drop identities with the mapping / object selection, or split the clip")
    return best_slot


def assign_identities(poses: PoseSequence, order: str = "left_to_right", mapping: str | dict[int, int] = "",
                      reuse_far_apart: bool = True, min_separation: float = 0.25,
                      permute_seed: int | None = None) -> IdentityMap:
    """Decide each track's slot once: user mapping first, then free slots in ``order``, then far-apart reuse.

    ``permute_seed`` randomly permutes the colours of the slots the mapping left free (ED training: stops
    "red = left" being learned).
    """
    fixed = parse_mapping(mapping) if isinstance(mapping, str) else dict(mapping)
    unknown = [t for t in fixed if t not in poses.track_ids]
    if unknown:
        raise InputError("mapping", f"track ids {unknown} are not in the poses (ids: {poses.track_ids})",
                         "use track ids shown by the pose preview")
    keys = _order_keys(poses, order)
    ranked = [int(c) for c in np.argsort(keys, kind="stable")]
    slots = np.full(poses.num_people, -1, dtype=np.int64)
    for track, slot in fixed.items():
        slots[poses.column(track)] = slot
    free = [s for s in range(NUM_SLOTS) if s not in fixed.values()]
    pending = [c for c in ranked if slots[c] < 0]
    for column, slot in zip(pending, free):
        slots[column] = slot
    extra = pending[len(free):]
    if extra and not reuse_far_apart:
        raise InputError("poses", f"{poses.num_people} identities but only {NUM_SLOTS} binding slots",
                         "turn on slot reuse for far-apart characters, or select at most 6 identities")
    if extra:
        apart = separation(poses)
        for column in extra:
            holders: dict[int, list[int]] = {}
            for c in np.flatnonzero(slots >= 0):
                holders.setdefault(int(slots[c]), []).append(int(c))
            slots[column] = _reuse_slot(column, holders, apart, min_separation, poses.track_ids[column])
    if permute_seed is not None:
        shuffled = np.random.default_rng(permute_seed).permutation(free)
        remap = {int(a): int(b) for a, b in zip(free, shuffled)}
        slots = np.array([remap.get(int(s), int(s)) for s in slots], dtype=np.int64)
    return IdentityMap(poses.track_ids, tuple(int(s) for s in slots))
