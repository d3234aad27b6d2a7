"""Parity with the official StableAnimator code (020e7f23) on its golden vectors (shared/golden/stable_animator).

Every part is loaded from the set's folders through our loaders (``load_unet``, ``load_adapter``,
``load_face_encoder``, ``load_vae``, ``load_image_encoder``) and run through our code (``denoise_step``,
``FaceIdEncoder``, ``clip_image_tokens``, ``encode_reference``, ``sample_svd``, ``decode_latents``). The cases are
found from the tensor names of ``cases.json`` (``unet.<sigma>.F<frames>.<branch>.model_output`` …), the pipeline's
scalar settings from the README's "Cases" prose, so a second set with other sizes and seeds runs unchanged.
Tolerances (golden README, "Measured tolerance"): 1e-4 for PoseNet, face encoder and UNet; 1e-3 for the pipeline.
"""
from __future__ import annotations

import re

import pytest
import torch
from _support import load_helper
from choreograph.core.models.loading import DtypePolicy
from choreograph.core.sampling.stable_animator import clip_image_tokens, decode_latents, encode_reference
from choreograph.core.models.stable_animator.loader import (
    load_adapter,
    load_face_encoder,
    load_image_encoder,
    load_unet,
    load_vae,
)
from choreograph.core.models.stable_animator.unet import denoise_step
from choreograph.core.sampling.edm import SvdSettings, euler_edm_solver, sample_svd

golden = load_helper("core/models/golden_support.py")
FOLDER = golden.golden_folder("stable_animator")
KEYS = golden.read_json(FOLDER, "cases.json")
MODULE_ATOL, PIPELINE_ATOL = 1e-4, 1e-3
FP32 = DtypePolicy(compute=torch.float32)
UNET_CASE = re.compile(r"^unet\.(?P<at>s\d+\.F\d+)\.(?P<branch>cond|uncond|cond_nopose)\.model_output$")
pytestmark = [pytest.mark.golden, golden.skip_without(FOLDER, "stable_animator")]


@pytest.fixture(scope="module")
def tensors():
    return golden.Tensors(FOLDER / "cases.safetensors")


@pytest.fixture(scope="module")
def unet():
    return load_unet(FOLDER / "unet" / "model.safetensors", FP32).eval()


@pytest.fixture(scope="module")
def face_encoder():
    return load_face_encoder(FOLDER / "face_encoder" / "model.safetensors", FP32).eval()


def test_pose_net(tensors):
    adapter = load_adapter(FOLDER / "pose_net" / "model.safetensors", FP32)
    with torch.no_grad():
        ours = adapter.pose_net(tensors["posenet.in"])
    golden.assert_close(ours, tensors["posenet.out"], MODULE_ATOL, "PoseNet")


@pytest.mark.parametrize("prefix", [k[:-len(".out")] for k in KEYS if k.startswith("face") and k.endswith(".out")
                                    and "shortcut" not in k and f"{k[:-len('.out')]}.id_in" in KEYS])
def test_face_encoder(tensors, face_encoder, prefix):
    with torch.no_grad():
        ours = face_encoder(tensors[f"{prefix}.id_in"], tensors[f"{prefix}.clip_in"])
    golden.assert_close(ours, tensors[f"{prefix}.out"], MODULE_ATOL, f"{prefix} tokens")


@pytest.mark.skipif("face.shortcut.out" not in KEYS, reason="no shortcut case in this set")
def test_face_encoder_shortcut(tensors, face_encoder):
    scale = float(re.search(r"scale=(\d+(?:\.\d+)?)", KEYS["face.shortcut.out"]["meaning"]).group(1))
    with torch.no_grad():
        ours = face_encoder(tensors["face.id_in"], tensors["face.clip_in"], shortcut=True, shortcut_scale=scale)
    golden.assert_close(ours, tensors["face.shortcut.out"], MODULE_ATOL, "shortcut tokens")


def unet_cases() -> list:
    found = [(m["at"], m["branch"]) for k in KEYS if (m := UNET_CASE.match(k))]
    cases = [pytest.param(at, branch, id=f"{at}.{branch}") for at, branch in sorted(found)]
    if "unet.b2.model_output" in KEYS:
        cases.append(pytest.param("b2", "cond", id="batch2"))
    return cases


@pytest.mark.parametrize(("at", "branch"), unet_cases())
def test_unet(tensors, unet, at, branch):
    """Conditional: [CLIP ; 4 face tokens] + pose; unconditional: zero input latents, zero context, no pose."""
    sample = tensors[f"unet.{at}.uncond_sample" if branch == "uncond" else f"unet.{at}.sample"]
    context = tensors["unet.b2.encoder_hidden_states" if at == "b2" else "unet.encoder_hidden_states_cond"]
    if branch == "uncond":
        context = torch.zeros_like(context)
    time_ids = tensors["unet.b2.added_time_ids" if at == "b2" else "unet.added_time_ids"]
    pose = tensors[f"unet.{at}.pose_latents"] if branch == "cond" else None
    timestep = tensors[f"unet.{at}.timestep"].float()
    output = f"unet.{at}.model_output" if at == "b2" else f"unet.{at}.{branch}.model_output"
    with torch.no_grad():
        ours = denoise_step(unet, sample, timestep, context, time_ids, pose)
    golden.assert_close(ours, tensors[output], MODULE_ATOL, output)


def pipeline_settings(steps: int, seed: int) -> SvdSettings:
    """The pipeline case's settings as the README states them."""
    text = (FOLDER / "README.md").read_text()

    def number(pattern: str) -> float:
        match = re.search(pattern, text)
        assert match, f"the golden README does not state {pattern!r}"
        return float(match.group(1))

    guidance = number(r"guidance (\d+(?:\.\d+)?)")
    settings = SvdSettings(steps=steps, min_guidance=guidance, max_guidance=guidance, fps=int(number(r"fps (\d+)")),
                           motion_bucket=int(number(r"motion_bucket_id (\d+)")),
                           noise_aug=number(r"noise_aug_strength (\d+(?:\.\d+)?)"), seed=seed,
                           tile=int(number(r"tile_size (\d+)")), overlap=int(number(r"tile_overlap (\d+)")))
    return settings


@pytest.mark.skipif("pipe.final_latents" not in KEYS, reason="no pipeline case in this set")
def test_pipeline(tensors, unet, face_encoder):
    """StableAnimator's InferenceAnimationPipeline with PoseNet features (the adapter's pose-only form)."""
    reference = tensors["pipe.ref_image_u8"].float() / 255
    poses = tensors["pipe.pose_video_u8"].permute(0, 3, 1, 2).float() / 127.5 - 1  # (F, 3, H, W), PoseNet input
    frames = tensors["pipe.final_latents"].shape[1]
    settings = pipeline_settings(tensors["pipe.timesteps"].numel(), seed=0)
    solver = euler_edm_solver(settings.steps)
    golden.assert_close(solver.scheduler.sigmas, tensors["pipe.sigmas"], 1e-4, "sigmas", rtol=1e-6)

    image_encoder = load_image_encoder(FOLDER, FP32)
    vae = load_vae(FOLDER, FP32)
    clip = clip_image_tokens(image_encoder, reference)
    golden.assert_close(clip, tensors["pipe.image_embeddings"][1:], MODULE_ATOL, "CLIP image embedding")
    with torch.no_grad():
        faces = face_encoder(tensors["pipe.id_embedding"], clip)
        pose = load_adapter(FOLDER / "pose_net" / "model.safetensors", FP32).pose_net(poses)
    golden.assert_close(faces, tensors["pipe.faceid_latents"], MODULE_ATOL, "face tokens")
    latent = encode_reference(vae, reference, settings.noise_aug, settings.seed, noise=tensors["pipe.aug_noise"])
    golden.assert_close(latent, tensors["pipe.image_latents"], MODULE_ATOL, "reference latent")
    contexts = {True: torch.cat([clip, faces], dim=1)}
    contexts[False] = torch.zeros_like(contexts[True])
    time_ids = settings.time_ids()

    def network(x, timestep, frame_ids, positive):
        with torch.no_grad():
            return denoise_step(unet, x, timestep, contexts[positive], time_ids,
                                pose[list(frame_ids)] if positive else None)

    latents = sample_svd(network, latent, frames, settings, noise=tensors["pipe.init_noise"])
    golden.assert_close(latents, tensors["pipe.final_latents"], PIPELINE_ATOL, "final latents")
    # decode_chunk_size unset in the official call: SVD pipelines then decode all frames in one chunk
    video = decode_latents(vae, latents, chunk=frames)
    golden.assert_close(video.permute(0, 3, 1, 2), tensors["pipe.frames"], PIPELINE_ATOL, "frames")
