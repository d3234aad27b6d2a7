"""IC accuracy on synthetic scenes with exact ground truth: the true video scores 1, swapped looks score 0."""
import math

import cv2
import numpy as np
import pytest
from choreograph.core.errors import InputError
from choreograph.core.metrics.identity import (
    colour_texture_embedding,
    cosine,
    ic_accuracy,
    masked_crop,
    region_embeddings,
)

synth = pytest.importorskip("choreograph.core.synth")


@pytest.fixture(scope="module")
def scene():
    return synth.make_scene(synth.SceneConfig(characters=3, frames=10, width=128, height=128, seed=3))


def _video(scene):
    return scene.frames.astype(np.float32) / 255


def _references(scene):
    ref = scene.reference
    images = [ref.frame.astype(np.float32) / 255] * len(ref.masks)
    return images, list(ref.masks), list(range(len(ref.masks)))


def _paste_swapped(frame, masks, a, b):
    """The frame with person a's region painted with person b's look (resized to fit) and vice versa."""
    out = frame.copy()
    for dst, src in ((a, b), (b, a)):
        crop, _ = masked_crop(frame, masks[src])
        ys, xs = np.nonzero(masks[dst])
        h, w = ys.max() - ys.min() + 1, xs.max() - xs.min() + 1
        look = cv2.resize(crop, (int(w), int(h)), interpolation=cv2.INTER_NEAREST)
        region = masks[dst][ys.min():ys.max() + 1, xs.min():xs.max() + 1]
        out[ys.min():ys.max() + 1, xs.min():xs.max() + 1][region] = look[region]
    return out


def test_ground_truth_video_scores_perfect_ic(scene):
    result = ic_accuracy(_video(scene), scene.masks_visible, scene.poses.track_ids, *_references(scene))
    assert result.character_accuracy == pytest.approx(1.0)
    assert result.frame_accuracy == pytest.approx(1.0)
    assert all(v == 1.0 for v in result.per_identity.values())


def test_swapped_looks_score_low_in_the_swapped_frames(scene):
    video = _video(scene)
    masks = scene.masks_visible
    swapped = video.copy()
    for t in range(5, len(video)):
        swapped[t] = _paste_swapped(video[t], masks[t], 0, 2)
    result = ic_accuracy(swapped, masks, scene.poses.track_ids, *_references(scene))
    assert (result.assignment[:5] == [0, 1, 2]).all()
    assert (result.assignment[5:, 0] == 2).all() and (result.assignment[5:, 2] == 0).all()
    assert result.frame_accuracy == pytest.approx(0.5)
    assert result.character_accuracy == pytest.approx((15 + 5) / 30)
    assert result.per_identity[1] == 1.0 and result.per_identity[0] == pytest.approx(0.5)


def test_absent_identity_is_nan_with_a_note_and_empty_masks_are_refused(scene):
    masks = scene.masks_visible.copy()
    masks[:, 1] = False
    result = ic_accuracy(_video(scene), masks, scene.poses.track_ids, *_references(scene))
    assert math.isnan(result.per_identity[1]) and "never appears" in result.notes[0]
    assert result.character_accuracy == 1.0
    with pytest.raises(InputError, match="no person"):
        ic_accuracy(_video(scene), np.zeros_like(masks), scene.poses.track_ids, *_references(scene))
    with pytest.raises(InputError, match="no reference"):
        ic_accuracy(_video(scene), masks, (0, 1, 7), *_references(scene))


def test_embedding_ignores_background_and_separates_characters(scene):
    video, masks = _video(scene), scene.masks_visible
    emb = region_embeddings(video, masks)
    assert emb.shape[:2] == (10, 3) and np.allclose(np.linalg.norm(emb, axis=-1), 1)
    other_background = np.where(masks[0].any(0)[..., None], video[0], 1 - video[0])
    again = colour_texture_embedding([masked_crop(other_background, masks[0, 0])])
    assert cosine(again, emb[0, :1])[0, 0] == pytest.approx(1.0)
    sim = cosine(emb[0], emb[0])
    assert (sim[~np.eye(3, dtype=bool)] < 0.97).all()
