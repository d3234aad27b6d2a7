"""Loading the release layout: safetensors and weights-only .pth, exact keys, files in the wrong slot."""
from __future__ import annotations

import dataclasses
import os
import pickle

import pytest
import torch
from choreograph.core.errors import InputError
from choreograph.core.models.animate_anyone.config import CONFIG_METADATA_KEY, TINY
from choreograph.core.models.animate_anyone.export import save_release
from choreograph.core.models.animate_anyone.loader import AnimateAnyoneFiles, load_animate_anyone
from safetensors.torch import load_file, save_file


@pytest.fixture(scope="module")
def saved(tmp_path_factory, make_models) -> tuple[object, AnimateAnyoneFiles]:
    models = make_models(seed=3)
    return models, save_release(models, tmp_path_factory.mktemp("aa"))


@pytest.fixture(scope="module")
def loaded(saved):
    return load_animate_anyone(saved[1], dtype=torch.float32)


def _assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        torch.testing.assert_close(sa[k], sb[k], msg=k)


def test_release_files_use_moore_motion_names(saved):
    _, files = saved
    motion = load_file(str(files.motion_module))
    assert any(".temporal_transformer.transformer_blocks.0.attention_blocks.1.pos_encoder.pe" in k for k in motion)
    assert not any(".motion_modules." in k for k in load_file(str(files.denoising_unet)))


def test_round_trip_restores_every_network(saved, loaded):
    models, _ = saved
    assert loaded.config == TINY
    for name in ("reference_unet", "denoising_unet", "pose_guider", "ref_pose_guider", "vae", "image_encoder"):
        _assert_same_weights(getattr(models, name), getattr(loaded, name))
    assert set(loaded.reader.attentions) == set(models.reader.attentions)


def test_pth_files_load_through_weights_only(saved, tmp_path):
    models, files = saved
    pth = tmp_path / "pose_guider.pth"
    torch.save(models.pose_guider.state_dict(), pth)
    loaded = load_animate_anyone(dataclasses.replace(files, pose_guider=pth), dtype=torch.float32)
    _assert_same_weights(models.pose_guider, loaded.pose_guider)


class _Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_pickles_that_run_code_are_refused(saved, tmp_path):
    _, files = saved
    evil = tmp_path / "pose_guider.pth"
    evil.write_bytes(pickle.dumps({"conv_in.weight": _Exploit()}))
    with pytest.raises(InputError, match="weights-only"):
        load_animate_anyone(dataclasses.replace(files, pose_guider=evil))


def test_file_in_the_wrong_slot_is_named(saved):
    _, files = saved
    with pytest.raises(InputError, match="motion module checkpoint, not a UNet"):
        load_animate_anyone(dataclasses.replace(files, reference_unet=files.motion_module))
    with pytest.raises(InputError, match="VAE checkpoint, not a pose guider"):
        load_animate_anyone(dataclasses.replace(files, pose_guider=files.vae))


def test_stock_unet_with_output_head_is_not_a_reference_unet(saved):
    _, files = saved
    # The denoising UNet's spatial file has conv_norm_out/conv_out, which Moore's ReferenceNet does not.
    with pytest.raises(InputError, match="unexpected key.*conv_out"):
        load_animate_anyone(dataclasses.replace(files, reference_unet=files.denoising_unet))


def test_missing_motion_keys_are_listed(saved, tmp_path):
    _, files = saved
    motion = load_file(str(files.motion_module))
    dropped = min(motion)
    del motion[dropped]
    partial = tmp_path / "motion.safetensors"
    save_file(motion, str(partial), metadata={CONFIG_METADATA_KEY: TINY.to_json()})
    with pytest.raises(InputError, match="missing key"):
        load_animate_anyone(dataclasses.replace(files, motion_module=partial))


def test_loaded_models_give_the_same_bank(saved, loaded, make_images):
    from choreograph.core.sampling.animate_anyone import encode_reference

    models, _ = saved
    ref, ieg = make_images(1, 0)[0], make_images(1, 1)[0]
    a, b = encode_reference(models, ref, ieg), encode_reference(loaded, ref, ieg)
    for block in a.bank.features:
        torch.testing.assert_close(a.bank.features[block], b.bank.features[block])


def test_checkpoint_of_another_model_family_is_rejected(saved, tmp_path):
    _, files = saved
    wan_like = tmp_path / "wan.safetensors"
    save_file({"patch_embedding.weight": torch.zeros(2, 2), "blocks.0.self_attn.q.weight": torch.zeros(2, 2)},
              str(wan_like))
    with pytest.raises(InputError, match="unrecognised checkpoint, not a UNet"):
        load_animate_anyone(dataclasses.replace(files, denoising_unet=wan_like))
