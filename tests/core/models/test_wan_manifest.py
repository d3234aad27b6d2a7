"""The real 14B networks, built on the meta device, have exactly the published key sets and shapes."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from choreograph.core.models.checkpoint import CheckpointReader, TensorInfo
from choreograph.core.models.loading import build_on_meta, check_exact_keys
from choreograph.core.models.wan_arch import I2V, SCAIL2, detect_wan_arch
from choreograph.core.models.wan_keys import diffusers_to_original, original_to_diffusers
from choreograph.core.models.wan_loader import build_wan

MANIFESTS = Path(__file__).resolve().parents[2] / "fixtures" / "manifests"  # published key layouts (README there)


def _manifest(name: str) -> dict:
    return json.loads((MANIFESTS / name).read_text())


def _reader_from_manifest(keys: dict[str, list[int]]) -> CheckpointReader:
    infos = {k: TensorInfo(Path("manifest"), k, tuple(shape), None) for k, shape in keys.items()}
    return CheckpointReader(Path("manifest.safetensors"), infos, {}, None)


def test_key_map_matches_diffusers_converter_both_ways():
    pairs = json.loads((MANIFESTS / "wan21_i2v_14B_original_to_diffusers.json").read_text())
    assert len(pairs) == 1303
    assert [original_to_diffusers(o) for o, _ in pairs] == [d for _, d in pairs]
    assert [diffusers_to_original(d) for _, d in pairs] == [o for o, _ in pairs]


@pytest.mark.parametrize("manifest,variant", [("wan21_i2v_14B_original.json", I2V), ("scail2_14B_wan.json", SCAIL2)])
def test_real_14b_architecture_on_meta_matches_published_layout(manifest, variant):
    published = _manifest(manifest)["keys"]
    arch = detect_wan_arch(_reader_from_manifest(published))
    assert (arch.variant, arch.dim, arch.num_layers, arch.num_heads, arch.ffn_dim) == (variant, 5120, 40, 40, 13824)
    model = build_on_meta(lambda: build_wan(arch))
    ours = {diffusers_to_original(k): tuple(v.shape) for k, v in model.state_dict().items()}
    check_exact_keys(ours, {k: tuple(v) for k, v in published.items()}, manifest)
    assert sum(v.numel() for v in model.state_dict().values()) == _manifest(manifest)["num_params"]


def test_diffusers_named_14b_layout_is_detected_the_same():
    published = _manifest("wan21_i2v_14B_diffusers.json")["keys"]
    arch = detect_wan_arch(_reader_from_manifest(published))
    assert arch.variant == I2V and arch.in_channels == 36 and arch.image_dim == 1280
    model = build_on_meta(lambda: build_wan(arch))
    check_exact_keys({k: tuple(v.shape) for k, v in model.state_dict().items()},
                     {k: tuple(v) for k, v in published.items()}, "diffusers manifest")


def test_wan_vae_original_names_map_onto_diffusers_vae_exactly():
    from choreograph.core.models.wan_vae import original_vae_name_map
    from diffusers import AutoencoderKLWan

    published = _manifest("wan21_vae_original.json")["keys"]
    pairs = json.loads((MANIFESTS / "wan21_vae_original_to_diffusers.json").read_text())
    mapping = original_vae_name_map(list(published))
    assert mapping == dict(pairs)
    model = build_on_meta(lambda: AutoencoderKLWan())
    check_exact_keys({k: tuple(v.shape) for k, v in model.state_dict().items()},
                     {mapping[k]: tuple(v) for k, v in published.items()}, "wan21_vae_original.json")
