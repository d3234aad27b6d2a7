"""Block offloading streams blocks through the compute device without changing the result."""
from __future__ import annotations

import pytest
import torch
from choreograph.core.models.offload import enable_block_offload
from choreograph.core.models.wan_arch import I2V


def _inputs():
    g = torch.Generator().manual_seed(0)
    return (torch.randn(1, 36, 2, 8, 8, generator=g), torch.tensor([500.0]), torch.randn(1, 512, 32, generator=g),
            torch.randn(1, 4, 24, generator=g))


def test_offloaded_model_gives_the_same_output_and_streams_each_block_per_call(make_tiny_model):
    model = make_tiny_model(I2V)
    with torch.no_grad():
        expected = model(*_inputs(), return_dict=False)[0]
        state = enable_block_offload(model, "cpu", resident=1)
        got = model(*_inputs(), return_dict=False)[0]
        model(*_inputs(), return_dict=False)
    assert torch.equal(got, expected)
    assert state.uploads == 2  # one streamed block (of 2) uploaded once per forward
    host = model.blocks[1].attn1.to_q.weight._choreo_host
    assert model.blocks[1].attn1.to_q.weight.data_ptr() == host.data_ptr()  # back on its host copy
    state.remove()
    assert not state.handles


def test_models_without_blocks_are_refused():
    with pytest.raises(TypeError, match="blocks"):
        enable_block_offload(torch.nn.Linear(2, 2), "cpu")
