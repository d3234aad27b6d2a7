"""Synthetic identity vectors: stable per character, face-recognition sized, distinct even between lookalikes."""
from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
from choreograph.core.synth.characters import sample_cast
from choreograph.core.synth.identity import ARCFACE_NORM, IDENTITY_DIM, identity_vector, identity_vectors


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_vector_is_stable_sized_and_survives_the_scene_json_round_trip():
    cast = sample_cast(np.random.default_rng(0), 3)
    vector = identity_vector(cast[0])
    assert vector.shape == (IDENTITY_DIM,) and vector.dtype == np.float32
    assert np.isclose(np.linalg.norm(vector), ARCFACE_NORM, rtol=1e-5)
    stored = json.loads(json.dumps(asdict(cast[0])))  # as scene.json holds it
    assert np.array_equal(identity_vector(stored), vector)
    renumbered = dict(stored, identity=7)  # the per-scene index is not part of who the character is
    assert np.array_equal(identity_vector(renumbered), vector)


def test_lookalikes_differ_enough_and_strangers_are_unrelated():
    lookalike, strangers = [], []
    for seed in range(12):
        cast = sample_cast(np.random.default_rng(seed), 4, lookalike_pairs=1)  # character 3 copies character 0
        assert cast[3].lookalike_of == 0 and cast[3].top == cast[0].top
        vectors = [identity_vector(c) for c in cast]
        lookalike.append(cosine(vectors[0], vectors[3]))
        strangers += [cosine(vectors[i], vectors[j]) for i in range(3) for j in range(i + 1, 3)]
    assert max(lookalike) < 0.45  # below the ~0.4-0.5 at which ArcFace calls two faces one person
    assert min(lookalike) > 0.1  # but more alike than strangers on average, as real lookalikes are
    assert abs(np.mean(strangers)) < 0.1 and np.mean(lookalike) > np.mean(strangers) + 0.15


def test_vectors_follow_the_requested_track_order():
    cast = sample_cast(np.random.default_rng(5), 3)
    records = [asdict(c) for c in cast]
    ordered = identity_vectors(records, (2, 0))
    assert np.array_equal(ordered[0], identity_vector(cast[2])) and np.array_equal(ordered[1], identity_vector(cast[0]))
