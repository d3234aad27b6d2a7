"""The shipped demo model, its training recipe and `python -m choreograph demo` (the README's main job)."""
import dataclasses
import json

import pytest
import torch
from choreograph.cli import main
from choreograph.core.errors import InputError
from choreograph.core.models.wan_arch import SCAIL2
from choreograph.headless.commands.demo import PACK_ROOT, WORKFLOW, demo_prompt, nodes_of, run_demo
from choreograph.nodes.demo import DEMO_FOLDER, ChoreoDemoModelLoader
from choreograph.core.models.pixel_codec import PixelCodec
from choreograph.training.config import load_config
from choreograph.training.trainer import resume_step, setup
from safetensors.torch import load_file

CONFIGS = PACK_ROOT / "training" / "configs"
MAX_SHIPPED_BYTES = 20 * 2**20


def _model_files() -> list:
    return [p for p in DEMO_FOLDER.rglob("diffusion_pytorch_model.safetensors")]


def test_the_shipped_model_is_small_and_loads_as_scail2_with_the_pixel_codec():
    files = _model_files()
    assert len(files) == 2 and sum(p.stat().st_size for p in files) < MAX_SHIPPED_BYTES  # model + ablation
    models, prompt, summary = ChoreoDemoModelLoader().run()
    assert models.variant == SCAIL2 and isinstance(models.codec, PixelCodec)
    assert prompt.text(True, "cpu", torch.float32).shape == (1, 512, models.transformer.model.config.text_dim)
    assert "demo scail2" in summary and not models.transformer.model.training


@pytest.mark.parametrize("run, model", [("demo_scail2", ""), ("demo_scail2_noimg", "ablation_no_img")])
def test_the_shipped_resume_states_continue_the_shipped_models_exactly(run, model):
    """demo/resume/<config>/step_N holds both runs' checkpoints: resuming each gives exactly its shipped weights."""
    (folder,) = [p for p in (DEMO_FOLDER / "resume").iterdir() if p.is_dir() and p.name.rsplit("_stage", 1)[0] == run]
    (checkpoint,) = list(folder.glob("step_*"))
    assert sum(p.stat().st_size for p in checkpoint.iterdir()) < MAX_SHIPPED_BYTES
    training = setup(load_config(CONFIGS / f"{folder.name}.yaml"))
    assert resume_step(training, str(checkpoint)) == int(checkpoint.name.split("_")[1])
    state = training.network.transformer.state_dict()
    shipped = load_file(str(DEMO_FOLDER / model / "diffusion_pytorch_model.safetensors"))
    assert shipped.keys() == state.keys() and all(torch.equal(state[k], shipped[k]) for k in shipped)
    training.network.close()


def test_a_folder_without_a_model_is_refused_with_the_input_named(tmp_path):
    with pytest.raises(InputError, match="model_folder"):
        ChoreoDemoModelLoader().run(model_folder=str(tmp_path))


@pytest.mark.parametrize("stage", ["", "_stage2", "_stage3"])
def test_the_ablation_config_differs_from_the_demo_config_only_in_the_img_loss(stage):
    with_img = load_config(CONFIGS / f"demo_scail2{stage}.yaml")
    without = load_config(CONFIGS / f"demo_scail2_noimg{stage}.yaml")
    assert with_img.losses.img.weight > 0 and without.losses.img.weight == 0
    same = dataclasses.replace(without, output_dir=with_img.output_dir,
                               losses=dataclasses.replace(without.losses, img=with_img.losses.img))
    assert same == with_img
    assert with_img.model.arch.dim * with_img.model.arch.num_layers <= 1024  # CPU-trainable


def test_demo_prompt_sets_the_scene_seed_and_model_folder_by_node_type():
    prompt = demo_prompt(WORKFLOW, seed=1234, model_folder="demo")
    (scene,) = nodes_of(prompt, "ChoreoSyntheticScene")
    (loader,) = nodes_of(prompt, "ChoreoDemoModelLoader")
    assert prompt[scene]["inputs"]["seed"] == 1234 and prompt[loader]["inputs"]["model_folder"] == "demo"
    assert nodes_of(prompt, "ChoreoSCAIL2Sampler") and nodes_of(prompt, "ChoreoIdentityQA")


def test_a_broken_workflow_file_is_an_input_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="workflow"):
        demo_prompt(bad)


def _short(prompt: dict, frames: int, steps: int) -> dict:
    """The demo prompt shortened: one 9-frame segment, few steps (a fast end-to-end run)."""
    for node_id in nodes_of(prompt, "ChoreoSyntheticScene"):
        prompt[node_id]["inputs"]["frames"] = frames
    for node_id in nodes_of(prompt, "ChoreoSCAIL2Sampler"):
        prompt[node_id]["inputs"]["steps"] = steps
    return prompt


def test_the_demo_workflow_runs_end_to_end_and_reports_ic_accuracy(tmp_path):
    result = run_demo(_short(demo_prompt(WORKFLOW), frames=9, steps=2), tmp_path)
    assert result.video.is_file() and result.video.suffix == ".mp4" and result.video.stat().st_size > 0
    assert result.overlay is not None and result.overlay.is_file()
    assert 0.0 <= result.ic_accuracy <= 1.0 and result.report["frames"] == 9
    assert set(result.report["identities"]) and "swaps" in result.report
    assert result.comparison is not None and result.comparison.is_file()  # reference | skeletons | generated | truth
    assert 0 < result.psnr_db < 100 and -1 <= result.ssim <= 1 and result.cpu_seconds > 0


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="the shipped demo model (16000 steps at 128 px) does not bind yet: with IMG "
                                      "it ignores the driving, without it keeps a swap prior; IC about 0.4-0.6, "
                                      "below the 0.95 bar (demo/README.md: the curve and what it would take)")
def test_the_main_job_prints_the_video_and_an_ic_accuracy_of_at_least_0_95(tmp_path, capsys):
    assert main(["demo", "--output-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    video = next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("video: "))
    assert (tmp_path / "choreograph").is_dir() and video.endswith(".mp4")
    ic = float(next(line for line in out.splitlines() if line.startswith("IC accuracy")).split()[2])
    assert ic >= 0.95, out


def test_the_ui_workflow_carries_notes_and_matches_its_api_form():
    ui = json.loads(WORKFLOW.read_text())
    api = json.loads((PACK_ROOT / "workflows" / "api" / "main_demo.json").read_text())
    notes = [n for n in ui["nodes"] if n["type"] == "Note"]
    assert notes and all(n["widgets_values"][0].strip() for n in notes)
    assert sorted(n["type"] for n in ui["nodes"] if n["type"] != "Note") == \
        sorted(node["class_type"] for node in api.values())
