"""The real-size networks, built on the meta device, have exactly the keys and shapes of the public files."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from choreograph.core.models.animate_anyone import keys, networks
from choreograph.core.models.animate_anyone.config import SD15
from choreograph.core.models.loading import build_on_meta

MANIFESTS = Path(__file__).resolve().parents[3] / "fixtures" / "manifests"  # published key layouts (README there)


def manifest(name: str) -> dict[str, list[int]]:
    return json.loads((MANIFESTS / f"{name}.json").read_text())["keys"]


def model_shapes(factory) -> dict[str, list[int]]:
    model = build_on_meta(lambda: factory(SD15))
    return {k: list(v.shape) for k, v in model.state_dict().items()}


@pytest.mark.parametrize("factory,name", [
    (networks.build_reference_unet, "animateanyone_reference_unet"),
    (networks.build_pose_guider, "animateanyone_pose_guider"),
    (networks.build_vae, "sd_vae_ft_mse"),
    (networks.build_image_encoder, "sd_image_variations_image_encoder"),
])
def test_network_matches_release_layout(factory, name):
    assert model_shapes(factory) == manifest(name)


def test_denoising_unet_is_stage1_file_plus_renamed_motion_file():
    expected = dict(manifest("animateanyone_denoising_unet"))
    motion = manifest("animateanyone_motion_module")
    for name, shape in motion.items():
        new = keys.motion_to_diffusers(name)
        if new is None:
            assert motion[keys.duplicate_of(name)] == shape
        else:
            expected[new] = shape
    assert model_shapes(networks.build_denoising_unet) == expected


def test_motion_names_round_trip():
    motion = manifest("animateanyone_motion_module")
    back = set()
    for name in motion:
        new = keys.motion_to_diffusers(name)
        if new is not None:
            back.update(keys.motion_from_diffusers(new))
    assert back == set(motion)


def test_old_vae_attention_names_map_to_current():
    old = json.loads((MANIFESTS / "sd_vae_ft_mse.json").read_text())["keys_deprecated_attention_names"]
    assert {keys.vae_to_diffusers(k): v for k, v in old.items()} == manifest("sd_vae_ft_mse")
