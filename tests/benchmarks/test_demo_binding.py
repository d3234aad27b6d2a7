"""The in-distribution binding probe behind the demo model's training curve (benchmarks/demo_binding.py)."""
import dataclasses

import torch
import yaml
from choreograph.benchmarks import demo_binding
from choreograph.training.config import load_config
from choreograph.training.scail2_objective import Scail2Objective
from safetensors.torch import save_file


def _config(tmp_path):
    config = {"output_dir": str(tmp_path / "run"), "seed": 0,
              "model": {"arch": {"dim": 32, "num_layers": 1, "ffn_dim": 64, "head_dim": 16, "text_dim": 16,
                                 "freq_dim": 16}},
              "data": {"stream": {"scene_frames": 12, "choreographies": ["dance+swap"]}, "frames": 5, "width": 64,
                       "height": 64, "workers": 0},
              "train": {"method": "full", "steps": 1}, "losses": {"img": {"weight": 0.0}}}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_the_ground_truth_binds_every_frame_and_swapped_colours_bind_none(tmp_path):
    objective = Scail2Objective(load_config(_config(tmp_path)), torch.device("cpu"))
    batch = demo_binding.probe_batch(objective, 3, seed=5)
    truth = demo_binding.binding(objective, batch, batch.latent)
    assert truth.frames > 0 and truth.accuracy == 1.0
    # paint each person in the other's mean colour: the probe must call every such frame wrong
    frames = [objective.codec.decode(batch.latent[b:b + 1]) for b in range(3)]
    swapped = []
    for b, video in enumerate(frames):
        masks = batch.gen_masks[b] > 0
        colours = demo_binding.person_colours(video[::4], masks)
        video = video.clone()
        for f in range(masks.shape[0]):
            for p, q in ((0, 1), (1, 0)):
                video[4 * f - 3 if f else 0:4 * f + 1][:, masks[f, p]] = colours[f, q]
        swapped.append(objective.codec.encode(video))
    assert demo_binding.binding(objective, batch, torch.cat(swapped)).accuracy < 0.5


def test_the_probe_reports_both_measurements_for_each_checkpoint(tmp_path, capsys):
    objective = Scail2Objective(load_config(_config(tmp_path)), torch.device("cpu"))
    weights = tmp_path / "w.safetensors"
    save_file(objective.transformer.state_dict(), str(weights))
    assert demo_binding.main([str(_config(tmp_path)), str(weights), "--windows", "2"]) == 0
    out = capsys.readouterr().out
    assert "one-step σ=0.95" in out and "sampled" in out and "frames)" in out and "another driving" in out


def test_reliance_is_zero_for_a_driving_every_window_shares_and_positive_for_the_reference(tmp_path):
    objective = Scail2Objective(load_config(_config(tmp_path)), torch.device("cpu"))
    batch = demo_binding.probe_batch(objective, 3, seed=5)
    ctx = batch.context
    shared = dataclasses.replace(ctx, driving=ctx.driving[:1].expand_as(ctx.driving).clone(),
                                 driving_mask=ctx.driving_mask[:1].expand_as(ctx.driving_mask).clone())
    measured = demo_binding.reliance(objective, dataclasses.replace(batch, context=shared), 0.95)
    assert measured.driving == 0.0 and measured.reference > 0
    assert demo_binding.reliance(objective, batch, 0.95).driving > 0  # the untrained network still reads it
