"""The training entry: loss falls, outputs load in the samplers' loaders, resume is exact, bad input is refused."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from choreograph.core.errors import InputError
from choreograph.core.models.loading import DtypePolicy
from choreograph.core.models.lora import apply_loras
from choreograph.core.models.wan_loader import load_wan_transformer
from choreograph.training.__main__ import main
from choreograph.training.checkpoints import latest_checkpoint
from choreograph.training.config import load_config
from choreograph.training.trainer import losses, make_batch, optimise, rate_factor, setup, step_generators, train
from safetensors.torch import load_file

FLOAT = DtypePolicy(torch.float32)


def test_loss_falls_when_fitting_a_fixed_batch(make_config):
    run = setup(load_config(make_config(train={"learning_rate": 1e-2})))
    rng, _ = step_generators(0, 0, 0)
    batch = make_batch(run, rng)
    history = []
    for _ in range(8):
        terms = losses(run, batch, torch.Generator().manual_seed(5))  # same noise every step
        history.append(float(terms["flow"].detach()))
        optimise(run, terms)
    assert history[-1] < 0.6 * history[0]


def test_cli_trains_full_model_that_the_loader_reads(make_config, capsys):
    path = make_config(train={"steps": 2})
    assert main([str(path)]) == 0
    printed = capsys.readouterr().out
    assert "step 2/2" in printed and "flow" in printed and "samples/s" in printed
    out = load_config(path).output_dir
    loaded = load_wan_transformer(f"{out}/model", FLOAT)
    assert loaded.arch.variant == "scail2" and loaded.arch.head_dim == 16
    final = load_file(f"{out}/model/diffusion_pytorch_model.safetensors")
    assert torch.equal(loaded.model.state_dict()["proj_out.weight"], final["proj_out.weight"])
    assert Path(out, "metrics.csv").read_text().startswith("step,")


def test_lora_run_writes_a_lora_the_pack_loads(make_config):
    config = load_config(make_config(train={"method": "lora", "steps": 2, "export_merged": True},
                                     lora={"rank": 2, "alpha": 2, "targets": ["ffn.0", "self_attn.v"]}))
    out = train(config)
    lora = out / "lora.safetensors"
    assert "diffusion_model.blocks.0.self_attn.v.lora_A.weight" in load_file(str(lora))
    merged = load_wan_transformer(out / "model", FLOAT).model
    base = setup(config).network.transformer  # same seed → same initial base weights (plus fresh zero-B adapter)
    base_state = {k.replace(".base_layer", ""): v for k, v in base.state_dict().items() if "lora_" not in k}
    fresh = load_wan_transformer(out / "model", FLOAT).model
    fresh.load_state_dict(base_state)
    apply_loras(fresh, [(lora, 1.0)])
    for name, value in merged.state_dict().items():
        assert torch.allclose(fresh.state_dict()[name], value, atol=1e-6), name


def _trainable(out) -> dict[str, torch.Tensor]:
    return load_file(str(latest_checkpoint(out / "checkpoints") / "trainable.safetensors"))


def test_resume_continues_exactly(make_config, tmp_path):
    straight = load_config(make_config(), {"output_dir": str(tmp_path / "straight")})
    split = load_config(make_config(), {"output_dir": str(tmp_path / "split")})
    train(straight)
    train(split, stop_after=2)
    assert latest_checkpoint(tmp_path / "split" / "checkpoints").name == "step_0000002"
    assert not (tmp_path / "split" / "model").exists()  # not finished: no final model yet
    train(split, resume=True)
    a, b = _trainable(tmp_path / "straight"), _trainable(tmp_path / "split")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    rows = (tmp_path / "split" / "metrics.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows] == ["step", "1", "2", "3"]


def test_bad_input_fails_before_training(make_config, tmp_path, capsys):
    assert main([str(make_config(lora={"targets": ["ffn.7"]}, train={"method": "lora"}))]) == 2
    assert "lora.targets" in capsys.readouterr().err
    assert main([str(make_config(data={"root": str(tmp_path / "nothing")}))]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert main([str(make_config(data={"frames": 81}))]) == 2
    assert "shorter than data.frames" in capsys.readouterr().err
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_trained_model_and_pixel_codec_drive_the_scail2_sampler(make_config, clip_root):
    from choreograph.core.sampling.scail2 import Scail2Video, generate_scail2
    from choreograph.core.sampling.solvers import FlowSettings
    from choreograph.core.sampling.wan_prompt import WanPrompt
    from choreograph.core.models.pixel_codec import PixelCodec
    from choreograph.training.dataset import Clip, list_clips

    out = train(load_config(make_config(train={"steps": 1})))
    model = load_wan_transformer(out / "model", FLOAT).model
    window = Clip(list_clips(clip_root)[0]).window(range(5))
    frames = torch.from_numpy(window.frames).float() / 255
    colours = torch.zeros_like(frames)
    colours[..., 0] = torch.from_numpy(window.masks[:, 0]).float()  # identity 0 in slot red
    on_white = torch.where(colours[0].any(-1, keepdim=True), colours[0], torch.ones(3))  # animation reference
    video = Scail2Video(reference=frames[0], driving=frames, reference_colour_mask=on_white,
                        driving_colour_mask=colours)
    text = torch.zeros(1, 4, model.config.text_dim)
    result = generate_scail2(model, PixelCodec(), video, WanPrompt(text, text), FlowSettings(steps=2, solver="euler"))
    assert result.shape == (5, 64, 64, 3) and bool(torch.isfinite(result).all())


def test_identity_matching_is_learned_on_the_wan_self_attention(make_config):
    config = make_config(data={"swap_probability": 1.0}, train={"learning_rate": 3e-3},
                         model={"arch": {"dim": 64, "num_layers": 2, "ffn_dim": 128, "head_dim": 32,
                                         "text_dim": 16, "freq_dim": 16}},
                         losses={"img": {"weight": 1.0, "mask_resize": "area"}})
    run = setup(load_config(config))
    batch = make_batch(run, step_generators(0, 1, 0)[0])
    history = []
    for _ in range(10):
        terms = losses(run, batch, torch.Generator().manual_seed(0))
        history.append(float(terms["img"].detach()))
        optimise(run, terms)
    assert history[0] > 0.3 and history[-1] < 0.5 * history[0]


def test_full_fine_tuning_continues_from_a_checkpoint(make_config, tmp_path):
    """A model written by one run is the starting point of the next, and every weight trains again."""
    first = train(load_config(make_config(train={"steps": 1})))
    start = load_file(f"{first}/model/diffusion_pytorch_model.safetensors")
    second_config = make_config(output_dir=str(tmp_path / "second"), model={"checkpoint": str(first / "model")},
                                train={"steps": 1})
    second = train(load_config(second_config))
    after = load_file(f"{second}/model/diffusion_pytorch_model.safetensors")
    assert set(after) == set(start)
    assert not torch.equal(after["proj_out.weight"], start["proj_out.weight"])


def test_a_fresh_run_into_a_finished_run_is_refused_not_overwritten(make_config, capsys):
    path = make_config(train={"steps": 1})
    assert main([str(path)]) == 0
    exported = Path(load_config(path).output_dir) / "model" / "diffusion_pytorch_model.safetensors"
    before = exported.read_bytes()
    assert main([str(path)]) == 2
    assert "--resume" in capsys.readouterr().err and exported.read_bytes() == before


def test_a_cool_down_lowers_the_rate_linearly_to_its_final_fraction_and_resumes_exactly(make_config, tmp_path):
    assert rate_factor(0, 4, 20, None, 0.1) == 0.25 and rate_factor(19, 4, 20, None, 0.1) == 1.0
    assert rate_factor(10, 4, 20, 10, 0.1) == 1.0 and abs(rate_factor(15, 4, 20, 10, 0.1) - 0.55) < 1e-12
    assert abs(rate_factor(20, 4, 20, 10, 0.1) - 0.1) < 1e-12
    cool = {"train": {"decay_start": 1, "decay_final": 0.2}}
    straight = load_config(make_config(**cool), {"output_dir": str(tmp_path / "straight")})
    split = load_config(make_config(**cool), {"output_dir": str(tmp_path / "split")})
    train(straight)
    train(split, stop_after=2)
    train(split, resume=True)
    a, b = _trainable(tmp_path / "straight"), _trainable(tmp_path / "split")
    assert all(torch.equal(a[k], b[k]) for k in a)
    header, *rows = (tmp_path / "split" / "metrics.csv").read_text().splitlines()
    column = header.split(",").index("lr")
    rates = [float(r.split(",")[column]) for r in rows]
    assert rates[0] > rates[1] > rates[2]


def test_a_cool_down_outside_the_run_is_refused(make_config):
    with pytest.raises(InputError, match="decay_start"):
        load_config(make_config(train={"decay_start": 10_000}))
