"""Parity with the official Moore-AnimateAnyone code (a914ef38) on its golden vectors (shared/golden/animate_anyone).

Every network is loaded from the set's files through ``load_animate_anyone``; every case of ``cases.json`` runs
through our own code path for it (the ReferenceNet writer, ``denoise_window``, ``encode_reference`` +
``sample_video``). Shapes, sizes, seeds, steps and windows all come from the case file, so any set in this format
(other sizes, seeds, depths) runs unchanged. Tolerances (golden README, "Tolerance"): modules 1e-4 absolute, guided
predictions 1e-4·(1 + 2·gs), pipelines 1e-3.
"""
from __future__ import annotations

import re

import pytest
import torch
from _support import load_helper
from choreograph.core.models.animate_anyone.config import config_from_moore
from choreograph.core.models.animate_anyone.loader import AnimateAnyoneFiles, load_animate_anyone
from choreograph.core.models.animate_anyone.reference_attention import ReferenceBank
from choreograph.core.sampling.animate_anyone import (
    ReferenceOptions,
    denoise_window,
    encode_reference,
    sample_video,
    vae_decode,
)
from choreograph.core.sampling.context_windows import ContextSchedule
from choreograph.core.sampling.ddim import DdimSettings
from choreograph.core.sampling.loop import seeded_noise

golden = load_helper("core/models/golden_support.py")
FOLDER = golden.golden_folder("animate_anyone")
CASES = golden.read_json(FOLDER, "cases.json").get("cases", [])
MODULE_ATOL, PIPELINE_ATOL = 1e-4, 1e-3
pytestmark = [pytest.mark.golden, golden.skip_without(FOLDER, "animate_anyone")]


def cases_of(*kinds: str) -> list:
    return [pytest.param(c, id=c["name"]) for c in CASES if c["kind"] in kinds]


@pytest.fixture(scope="module")
def models():
    files = AnimateAnyoneFiles(**{name: FOLDER / f"{name}.safetensors" for name in (
        "reference_unet", "denoising_unet", "motion_module", "pose_guider", "vae", "image_encoder")})
    config = config_from_moore(golden.read_json(FOLDER, "config.json"))
    return load_animate_anyone(files, dtype=torch.float32, config=config)


@pytest.fixture(scope="module")
def tensors():
    return golden.Tensors(FOLDER / "cases.safetensors")


def frames_first(video: torch.Tensor) -> torch.Tensor:
    """``(B, C, F, h, w)`` → ``(B·F, C, h, w)``, batch-major (Moore's "(b f)")."""
    return video.transpose(1, 2).flatten(0, 1)


def write_bank(models, tensors, case: dict) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Our ReferenceNet on the case's inputs: its output and the bank it wrote, by block name."""
    inputs = case["inputs"]
    latents = tensors[inputs["ref_latents"]].repeat(inputs["batch_repeat"], 1, 1, 1)
    timestep = torch.full((latents.shape[0],), float(inputs["timestep"]))
    with torch.no_grad(), models.writer.record() as bank:
        sample = models.reference_unet(latents, timestep,
                                       encoder_hidden_states=tensors[inputs["encoder_hidden_states"]]).sample
    return sample, dict(bank)


@pytest.mark.parametrize("case", cases_of("pose_guider"))
def test_pose_guider(models, tensors, case):
    pose = tensors[case["inputs"]["pose_cond"]]
    expected = tensors[case["outputs"]["pose_fea"]]
    with torch.no_grad():
        ours = models.pose_guider(frames_first(pose))
    golden.assert_close(ours, frames_first(expected), MODULE_ATOL, "pose_fea")


@pytest.mark.parametrize("case", cases_of("reference_write"))
def test_reference_net_writes_the_official_bank(models, tensors, case):
    sample, bank = write_bank(models, tensors, case)
    golden.assert_close(sample, tensors[case["outputs"]["sample"]], MODULE_ATOL, "ReferenceNet sample")
    for entry in case["outputs"]["bank"]:
        ours = bank[entry["writer_block"]]
        golden.assert_close(ours, tensors[entry["write"]], MODULE_ATOL, f"bank {entry['writer_block']}")
        # A 1e-6 difference can flip a float16 rounding: allow one float16 step (2^-10 relative).
        golden.assert_close(ours.half(), tensors[entry["read_fp16"]], MODULE_ATOL, f"fp16 bank {entry['writer_block']}",
                            rtol=2.0 ** -10)


@pytest.mark.parametrize("case", cases_of("denoise_read"))
def test_denoising_unet_reads_like_the_official_one(models, tensors, case):
    source = next(c for c in CASES if c["name"] == case["inputs"]["bank_from_case"])
    _, written = write_bank(models, tensors, source)
    inputs, frames = case["inputs"], case["video_length"]
    latents = tensors[inputs["latent_model_input"]]
    context = tensors[inputs["encoder_hidden_states"]]
    pose = tensors[inputs["pose_cond_fea"]]
    timestep = torch.tensor([float(inputs["timestep"])])
    rows = []
    for row in range(latents.shape[0]):
        conditional = not case["cfg"] or row == 1  # CFG batches are [uncond, cond] (README)
        bank = ReferenceBank({k: v[row:row + 1].half().float() for k, v in written.items()}) if conditional else None
        with torch.no_grad():
            out, _ = denoise_window(models, latents[row:row + 1], timestep,
                                    context[row:row + 1].repeat_interleave(frames, 0),
                                    frames_first(pose[row:row + 1]), bank)
        rows.append(out)
    ours = torch.cat(rows)
    golden.assert_close(ours, tensors[case["outputs"]["noise_pred"]], MODULE_ATOL, "noise_pred")
    if case["cfg"]:
        scale = case["guidance_scale"]
        guided = ours[:1] + scale * (ours[1:] - ours[:1])
        golden.assert_close(guided, tensors[case["outputs"]["noise_pred_guided"]], MODULE_ATOL * (1 + 2 * scale),
                            "noise_pred_guided")


def _seed(params: dict) -> int:
    match = re.search(r"manual_seed\((\d+)\)", str(params["generator"]))
    assert match, f"cannot read the seed from {params['generator']!r}"
    return int(match.group(1))


@pytest.mark.parametrize("case", cases_of("pipeline", "pipeline_long"))
def test_pipeline_matches_the_official_run(models, tensors, case):
    """``pipeline`` is pipeline_pose2vid (CLIP crop, one window); ``pipeline_long`` is pipeline_pose2vid_long (CLIP
    squash, the step-0 windows at every step)."""
    params, long = case["params"], case["kind"] == "pipeline_long"
    assert params.get("eta", 0.0) == 0.0 and params.get("context_stride", 1) == 1
    reference = tensors[case["inputs"]["ref_image_u8"]].float() / 255
    poses = tensors[case["inputs"]["pose_images_u8"]].float() / 255
    frames = params["video_length"]
    schedule = (ContextSchedule(params["context_frames"], params["context_overlap"], closed_loop=True, shift=False)
                if long else ContextSchedule(frames, 0))
    settings = DdimSettings(steps=params["num_inference_steps"], guidance=params["guidance_scale"],
                            seed=_seed(params))
    init = tensors[case["intermediates"]["init_latents"]]
    assert torch.equal(seeded_noise(tuple(init.shape), settings.seed), init)
    timesteps = tensors[case["intermediates"]["timesteps"]]
    assert torch.equal(settings.make_solver().timesteps.long().cpu(), timesteps)

    options = ReferenceOptions(clip_input="squash" if long else "crop", bank_fp16=True)
    encoding = encode_reference(models, reference, torch.zeros_like(reference), options)  # zero-init RefPoseGuider
    golden.assert_close(encoding.image_embeds[:, 0], tensors[case["intermediates"]["clip_image_embeds"]],
                        MODULE_ATOL, "clip_image_embeds")
    latents = sample_video(models, encoding, poses, settings, schedule).latents
    golden.assert_close(latents, tensors[case["outputs"]["final_latents"]], PIPELINE_ATOL, "final_latents")
    video = vae_decode(models, latents).permute(3, 0, 1, 2)[None]  # (1, 3, F, H, W)
    golden.assert_close(video, tensors[case["outputs"]["video"]], PIPELINE_ATOL, "video")
