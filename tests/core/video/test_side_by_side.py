"""Comparison videos: panels side by side, identities outlined in their binding colours."""
import numpy as np
from choreograph.core.video.side_by_side import GAP_PX, outline_identities, side_by_side


def test_outlines_colour_only_the_boundary_of_each_identity():
    frames = np.zeros((1, 16, 16, 3), np.uint8)
    masks = np.zeros((1, 2, 16, 16), bool)
    masks[0, 0, 2:8, 2:8] = True
    masks[0, 1, 9:15, 9:15] = True
    out = outline_identities(frames, masks, np.array([[255, 0, 0], [0, 0, 255]], np.uint8))
    assert (out[0, 2, 2:8] == [255, 0, 0]).all() and (out[0, 9:15, 14] == [0, 0, 255]).all()
    assert (out[0, 4, 4] == 0).all() and (out[0, 0, 0] == 0).all()  # inside and outside untouched
    assert frames.max() == 0  # the input is not drawn on


def test_panels_are_placed_side_by_side_with_still_images_repeated():
    video = np.random.default_rng(0).random((5, 8, 8, 3)).astype(np.float32)
    still = np.full((1, 16, 16, 3), 255, np.uint8)
    row = side_by_side([video, still, video])
    assert row.shape == (5, 8, 3 * 8 + 2 * GAP_PX, 3) and row.dtype == np.uint8
    assert (row[:, :, 8 + GAP_PX:16 + GAP_PX] == 255).all() and (row[:, :, 8:8 + GAP_PX] == 0).all()
