"""Moore-style config.json → our sizes: every field mapped, Moore's fixed 32-group motion norm, refusals named."""
from __future__ import annotations

import pytest
from choreograph.core.models.animate_anyone.config import TINY, config_from_moore


def moore_config(**changes) -> dict:
    """TINY as Moore's constructors spell it (golden README, "Model sizes")."""
    unet = {"block_out_channels": [32, 64], "layers_per_block": 1, "norm_num_groups": 8, "attention_head_dim": 4,
            "cross_attention_dim": 32, "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
            "use_linear_projection": False}
    config = {"reference_unet": dict(unet),
              "denoising_unet": {**unet, "motion_module_resolutions": [1, 2, 4, 8], "motion_module_mid_block": True,
                                 "motion_module_kwargs": {"num_attention_heads": 4,
                                                          "attention_block_types": ["Temporal_Self"] * 2,
                                                          "temporal_position_encoding_max_len": 32}},
              "pose_guider": {"conditioning_embedding_channels": 32, "block_out_channels": [8, 16]},
              "vae": {"block_out_channels": [16, 32], "layers_per_block": 2, "norm_num_groups": 8},
              "image_encoder": {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
                                "intermediate_size": 64, "image_size": 32, "patch_size": 8, "projection_dim": 32,
                                "hidden_act": "quick_gelu"}}
    for path, value in changes.items():
        section, key = path.split(".", 1)
        config[section] = {**config[section], key: value}
    return config


def test_tiny_round_trips_and_motion_norm_is_always_32():
    assert config_from_moore(moore_config()) == TINY
    assert config_from_moore(moore_config(**{"reference_unet.norm_num_groups": 4})).motion_norm_num_groups == 32
    assert config_from_moore(moore_config(**{"reference_unet.attention_head_dim": [4, 4]})).attention_heads == 4
    assert config_from_moore(moore_config(**{"vae.layers_per_block": 1})).vae_layers_per_block == 1


@pytest.mark.parametrize(("change", "message"), [
    ({"reference_unet.use_linear_projection": True}, "use_linear_projection"),
    ({"reference_unet.attention_head_dim": [4, 8]}, "head counts"),
    ({"denoising_unet.motion_module_mid_block": False}, "mid block"),
    ({"image_encoder.projection_dim": 16}, "projection width"),
])
def test_what_we_cannot_build_is_refused(change, message):
    with pytest.raises(ValueError, match=message):
        config_from_moore(moore_config(**change))
