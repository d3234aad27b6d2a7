"""DreamActor-M2's double-width in-context input (SPEC §4.1) and the Wan temporal fold it shares."""
import numpy as np
import pytest
import torch
from choreograph.core.conditioning.in_context import generated_frames, in_context_input
from choreograph.core.conditioning.wan_grid import fold_time, latent_size
from choreograph.core.errors import InputError


def test_composite_places_reference_motion_and_grey():
    ref = np.full((16, 8, 3), 0.9, np.float32)
    drive = np.random.default_rng(0).random((5, 16, 8, 3)).astype(np.float32)
    x = in_context_input(ref, drive, pad_frames=0)
    assert x.composite.shape == (5, 16, 16, 3) and x.width == 8
    assert np.allclose(x.composite[0, :, :8], 0.9) and np.allclose(x.composite[:, :, 8:], drive)
    assert np.allclose(x.composite[1:, :, :8], 0.5)
    assert x.mask[0].all() and not x.mask[1:, :, :8].any() and x.mask[:, :, 8:].all()


def test_first_second_padding_has_no_motion_and_is_dropped():
    ref = np.zeros((16, 16, 3), np.float32)
    drive = np.ones((5, 16, 16, 3), np.float32)
    x = in_context_input(ref, drive, pad_frames=16)
    assert x.composite.shape[0] == 21 and (x.composite.shape[0] - 1) % 4 == 0
    assert np.allclose(x.composite[:16, :, 16:], 0.5) and not x.mask[:16, :, 16:].any()
    assert x.mask[0, :, :16].all()
    out = generated_frames(np.arange(21 * 16 * 32 * 3).reshape(21, 16, 32, 3), x.pad_frames)
    assert out.shape == (5, 16, 16, 3)
    latent = x.latent_mask()
    assert latent.shape == (4, 6, 2, 4)
    assert latent[:, 0, :, :2].all() and not latent[:, 1:4, :, 2:].any() and latent[:, 5, :, 2:].all()


def test_fold_time_layout():
    frames = torch.arange(5.0).view(5, 1, 1, 1)
    folded = fold_time(frames)
    assert folded.shape == (4, 2, 1, 1)
    assert folded[:, 0].flatten().tolist() == [0, 0, 0, 0] and folded[:, 1].flatten().tolist() == [1, 2, 3, 4]
    assert latent_size(90, 100) == (12, 13)


def test_bad_inputs_are_named():
    ref = np.zeros((16, 16, 3), np.float32)
    with pytest.raises(InputError, match="4k\\+1"):
        in_context_input(ref, np.zeros((6, 16, 16, 3)))
    with pytest.raises(InputError, match="driving"):
        in_context_input(ref, np.zeros((5, 8, 16, 3)))
    with pytest.raises(InputError, match="pad_frames"):
        in_context_input(ref, np.zeros((5, 16, 16, 3)), pad_frames=6)
