"""Weights-only reading of PyTorch pickles and renamed views over several readers."""
from __future__ import annotations

import pickle

import pytest
import torch
from choreograph.core.errors import InputError
from choreograph.core.models.pth_checkpoint import open_weights, renamed
from safetensors.torch import save_file


def test_nested_pth_state_dicts_are_unwrapped(tmp_path):
    path = tmp_path / "net.pth"
    torch.save({"state_dict": {"a.weight": torch.ones(2, 3), "b": torch.arange(4)}}, path)
    reader = open_weights(path)
    assert set(reader.keys()) == {"a.weight", "b"}
    assert reader.shape("a.weight") == (2, 3) and reader.dtype("b") == torch.int64
    torch.testing.assert_close(reader.load("a.weight"), torch.ones(2, 3))


def test_model_prefix_is_stripped_and_legacy_format_loads(tmp_path):
    path = tmp_path / "legacy.bin"
    torch.save({"model.x": torch.zeros(3)}, path, _use_new_zipfile_serialization=False)
    reader = open_weights(path)
    assert reader.keys() == ["x"] and reader.load("x").shape == (3,)


def test_non_tensor_pickles_are_refused(tmp_path):
    path = tmp_path / "bad.pth"
    path.write_bytes(pickle.dumps({"a": [1, 2]}))
    with pytest.raises(InputError, match="bad.pth"):
        open_weights(path, "weights")


def test_renamed_view_combines_readers(tmp_path):
    save_file({"x": torch.ones(2)}, str(tmp_path / "a.safetensors"))
    torch.save({"y": torch.zeros(3)}, tmp_path / "b.pth")
    a, b = open_weights(tmp_path / "a.safetensors"), open_weights(tmp_path / "b.pth")
    view = renamed({"first.x": (a, "x"), "second.y": (b, "y")}, tmp_path)
    assert sorted(view.keys()) == ["first.x", "second.y"] and view.shape("second.y") == (3,)
    torch.testing.assert_close(view.load("first.x"), torch.ones(2))
    view.close()
