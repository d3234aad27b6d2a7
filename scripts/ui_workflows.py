"""Write the UI (editor) form of the demo and example workflows from their API form, with Note nodes.

ComfyUI's API form has no place for notes, so the explanations live here and are added as ``Note`` nodes (left
of the graph, stacked) to what the pack's converter (``python -m choreograph convert --to ui``) makes of
``workflows/api/<name>.json``; the result is ``workflows/<name>.json``. Graphs that use native ComfyUI nodes
(``needs_weights/native/``) get those nodes' schemas from ``NATIVE`` below (input names and order as in ComfyUI).
Run after editing an API workflow:

    python scripts/ui_workflows.py                         # every workflow listed in NOTES
    python scripts/ui_workflows.py main_demo               # just one
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from choreograph.headless.schema import local_object_info
from choreograph.headless.ui_layout import api_to_ui
from choreograph.headless.workflow import load_workflow, to_api

ROOT = Path(__file__).resolve().parents[1]
NOTE_WIDTH, NOTE_HEIGHT, NOTE_GAP = 420, 220, 20

NOTES: dict[str, tuple[str, ...]] = {
    "main_demo": (
        ("Choreograph demo (runs on a CPU, no downloads): two synthetic characters swap places and each must keep "
         "its own look.\n\nReference image + driving choreography: the Synthetic Scene node (128x128, 49 frames, "
         "'dance+swap'); change its seed for another held-out scene.\nTracked poses: the scene's poses are turned "
         "into untracked POSE_KEYPOINT and tracked again, as a DWPose result would be."),
        ("Guidance: the identity map gives every tracked person a binding slot (colour); skeletons (IEG palette), "
         "per-identity masks (the scene's masks matched to the tracks) and character slots all read it. The "
         "SCAIL-2 colour masks are what bind each reference character to its driving person."),
        ("Sampler: 'Demo Model Loader' loads the small SCAIL-2 shipped in the pack (demo/, trained by "
         "'python -m choreograph.training training/configs/demo_scail2.yaml'). Keep segment_frames 9 and "
         "history_frames 5 (what it was trained for), cfg 1 (it has no prompt), 128x128 frames."),
        ("Outputs: the generated mp4, and the identity QA report (per-window held/swapped verdicts and IC "
         "accuracy: how often each generated person looks like its own reference character) with an overlay "
         "video. Headless: python -m choreograph demo"),
    ),
    "synth_scene_video": (
        "Synthetic world: a procedural scene where every identity, pose and mask is known exactly (no weights "
        "needed). Pick 1-6 characters, a choreography (dance, swap, circle, cross = full occlusion, exit, fewer, "
        "sizes; combine with '+'), a plain or textured background and a seed; 'lookalikes' makes two characters "
        "share colours.",
        "Outputs: the frames (saved as mp4) and the per-identity visible masks (saved as PNG frames). The node also "
        "outputs the exact poses, reference image and reference poses for the guidance and evaluation stages.",
    ),
    "synth_dataset": (
        "Training-data preparation: writes a dataset of synthetic scenes in the training format "
        "(docs/dataset_format.md: PNG frames, poses.npz, masks.npz, scene.json with the swap table) into the "
        "output folder. Re-running with the same settings resumes; train on it with "
        "python -m choreograph.training CONFIG.yaml. For your own videos use python -m choreograph prepare.",
    ),
    "pose_track_json": (
        "Tracking: loads untracked POSE_KEYPOINT (people in arbitrary order per frame, as DWPose or "
        "controlnet_aux emit them; here a synthetic position swap), gives every person a persistent identity "
        "through the swap (Hungarian matching on motion, keypoints and boxes), smooths the tracks, and saves "
        "POSE_KEYPOINT with a track_id per person (other packs ignore the extra key).",
    ),
    "guidance_scail2_masks": (
        "Identity guidance: the identity map decides once which binding slot (colour) each tracked person gets; "
        "skeletons (IEG hues), per-identity masks, character slots, the SCAIL-2 colour masks and the 28-channel "
        "binding slots all read it, so they always agree on who is who.",
        "Outputs: a preview (masks tinted by slot with labels), the driving colour-mask video as PNG frames (the "
        "contract native WanSCAILToVideo reads), and the identity-coloured skeleton video. The binding-slot node "
        "shows its tensor layout.",
    ),
    "guidance_incontext_composite": (
        "DreamActor-M2 input: the reference image and the first motion frame side by side (double width), with "
        "the matching mask, rendered from a synthetic scene's skeletons. A stock Wan2.1-I2V graph with a trained "
        "LoRA reads this composite as its start image.",
    ),
    "eval_identity_qa": (
        "Evaluation: identity-swap QA of a video against the character slots of its reference. Each person's "
        "region (drawn from the driving poses) is matched to the reference characters by appearance; the report "
        "gives per identity and per window whether the identity held, swapped or drifted, plus the IC accuracy. "
        "Here the ground-truth synthetic video is checked, so every identity holds.",
        "Outputs: the QA overlay video (ids and colours, red where identity broke), the QA JSON report, and pose "
        "metrics (MPJPE, OKS, PoseSSIM, smoothness) as JSON.",
    ),
    "needs_weights/pose_dwpose_track": (
        ("Pose extraction + tracking (needs models/detection/yolox_l.onnx and dw-ll_ucoco_384.onnx, the DWPose "
         "release files).\n\nPut your video at input/dance.mp4. DWPose finds every person in every frame and the "
         "tracker keeps each one's id through crossings, occlusion and exits."),
        ("Outputs: a preview video (each identity tinted and labelled in its slot colour: check the ids hold "
         "before generating) and the tracked poses as POSE_KEYPOINT JSON with track ids, which Load Pose JSON "
         "reads back."),
    ),
    "needs_weights/sampler_scail2": (
        ("SCAIL-2 (in-context Wan) with your weights: models/diffusion_models/wan2.1_14B_SCAIL_2_fp16.safetensors, "
         "models/vae/wan_2.1_vae.safetensors, models/clip_vision/clip_vision_h.safetensors, DWPose in "
         "models/detection. Inputs: input/dance.mp4 (driving) and input/reference.png (all characters, left to "
         "right as in the first driving frame), both 512x896."),
        ("Prompt: in ComfyUI connect CLIPTextEncode (umT5) to the Wan Prompt node's positive/negative; headless, "
         "the node reads input/scail2_prompt_embeddings.safetensors (keys positive, negative).\nThe identity map "
         "decides each person's slot colour once; skeletons, colour masks and character slots all read it, so "
         "every character stays bound to its driving person through swaps."),
    ),
    "needs_weights/sampler_dreamactor_m2": (
        ("DreamActor-M2 on Wan2.1-I2V with your weights: models/diffusion_models/"
         "wan2.1_i2v_480p_14B_fp16.safetensors, models/vae/wan_2.1_vae.safetensors, a DreamActor-M2 LoRA as "
         "models/loras/dreamactor_m2_wan2.1_i2v_lora.safetensors (no public release: train one with python -m "
         "choreograph.training and a DreamActor config), models/clip_vision/clip_vision_h.safetensors, DWPose. Inputs: input/dance.mp4, input/reference.png (480x832)."),
        ("The sampler puts reference and driving side by side in one double-width video (In-Context Composite "
         "does the same as a separate node for inspection); the first 16 frames are zero-motion padding and are "
         "dropped. Prompt as in the SCAIL-2 workflow (embeddings file headless, CLIPTextEncode in ComfyUI)."),
    ),
    "needs_weights/sampler_reference_net": (
        ("EverybodyDance on AnimateAnyone (ReferenceNet) with the Moore-AnimateAnyone release in "
         "models/animate_anyone: reference_unet.pth, denoising_unet.pth, motion_module.pth, pose_guider.pth, "
         "sd-vae-ft-mse/diffusion_pytorch_model.safetensors, image_encoder/pytorch_model.bin (sd-image-variations). "
         "Inputs: input/dance.mp4 and input/reference.png (512x768); DWPose in models/detection."),
        ("The reference is encoded once with its identity-coloured skeleton (IEG); the driving IEG skeletons use "
         "the same slot colours. With characters and driving masks connected, the sampler also reports the "
         "Identity Matching Graph (how much each generated person attends to each reference person)."),
    ),
    "needs_weights/sampler_mask_pose": (
        ("DanceTogether (MaskPose on StableAnimator/SVD) with your weights: StableAnimator unet.pth, pose_net.pth, "
         "face_encoder.pth in models/stable_animator, the SVD-xt diffusers folder "
         "(models/diffusers/stable-video-diffusion-img2vid-xt), ArcFace glintr100.onnx in models/insightface, "
         "DWPose. Inputs: input/dance.mp4 and input/reference.png (576x1024)."),
        ("Each person gets its own pose map and mask (person-major batches, same order as the character slots) "
         "and its own ArcFace face vector, so who moves how stays bound to who looks how."),
    ),
    "needs_weights/native/scail2_native_interop": (
        ("Interop with native ComfyUI SCAIL-2: Choreograph tracks the people (DWPose), decides each one's binding "
         "slot once (identity map) and renders the exact colour-mask videos native WanSCAILToVideo reads "
         "(pose_video_mask, reference_image_mask), plus SCAIL-style 'lightness' skeletons as pose_video."),
        ("Needs ComfyUI v0.27.0 or newer (comfy_extras/nodes_scail.py with WanSCAILToVideo and SCAIL2ColoredMask: "
         "Comfy-Org/ComfyUI PRs #14373 and #14509) and: "
         "models/diffusion_models/wan2.1_14B_SCAIL_2_fp16.safetensors, "
         "models/text_encoders/umt5_xxl_fp8_e4m3fn_scaled.safetensors, models/vae/wan_2.1_vae.safetensors, "
         "models/clip_vision/clip_vision_h.safetensors; inputs input/dance.mp4 and input/reference.png "
         "(512x896). Set replacement_mode on WanSCAILToVideo to match the colour-mask node's mode. The masks use the "
         "official colours (identities blue, red, green, magenta, cyan, yellow) and backgrounds (reference mask on "
         "white in animation, black in replacement), exactly as native SCAIL2ColoredMask renders them."),
    ),
}


def _native(required: dict, outputs: list[str], names: list[str] | None = None) -> dict:
    """A native ComfyUI node's ``/object_info`` entry: what the converter needs (inputs in order, outputs)."""
    return {"input": {"required": required}, "input_order": {"required": list(required)}, "output": outputs,
            "output_is_list": [False] * len(outputs), "output_name": names or outputs, "output_node": False}


_SEED = ("INT", {"default": 0, "min": 0, "max": 2**64 - 1, "control_after_generate": True})
NATIVE: dict[str, dict] = {
    "UNETLoader": _native({"unet_name": (["wan2.1_14B_SCAIL_2_fp16.safetensors"], {}),
                           "weight_dtype": (["default", "fp8_e4m3fn", "fp8_e4m3fn_fast", "fp8_e5m2"], {})}, ["MODEL"]),
    "ModelSamplingSD3": _native({"model": ("MODEL", {}), "shift": ("FLOAT", {"default": 3.0})}, ["MODEL"]),
    "CLIPLoader": _native({"clip_name": (["umt5_xxl_fp8_e4m3fn_scaled.safetensors"], {}), "type": (["wan"], {}),
                           "device": (["default", "cpu"], {})}, ["CLIP"]),
    "CLIPTextEncode": _native({"text": ("STRING", {"multiline": True}), "clip": ("CLIP", {})}, ["CONDITIONING"]),
    "VAELoader": _native({"vae_name": (["wan_2.1_vae.safetensors"], {})}, ["VAE"]),
    "CLIPVisionLoader": _native({"clip_name": (["clip_vision_h.safetensors"], {})}, ["CLIP_VISION"]),
    "CLIPVisionEncode": _native({"clip_vision": ("CLIP_VISION", {}), "image": ("IMAGE", {}),
                                 "crop": (["center", "none"], {})}, ["CLIP_VISION_OUTPUT"]),
    "WanSCAILToVideo": _native({
        "positive": ("CONDITIONING", {}), "negative": ("CONDITIONING", {}), "vae": ("VAE", {}),
        "width": ("INT", {"default": 512}), "height": ("INT", {"default": 896}), "length": ("INT", {"default": 81}),
        "batch_size": ("INT", {"default": 1}), "pose_video": ("IMAGE", {}), "pose_video_mask": ("IMAGE", {}),
        "replacement_mode": ("BOOLEAN", {"default": False}), "pose_strength": ("FLOAT", {"default": 1.0}),
        "pose_start": ("FLOAT", {"default": 0.0}), "pose_end": ("FLOAT", {"default": 1.0}),
        "reference_image": ("IMAGE", {}), "reference_image_mask": ("IMAGE", {}),
        "clip_vision_output": ("CLIP_VISION_OUTPUT", {}), "video_frame_offset": ("INT", {"default": 0}),
        "previous_frame_count": ("INT", {"default": 5})},
        ["CONDITIONING", "CONDITIONING", "LATENT", "INT"], ["positive", "negative", "latent", "video_frame_offset"]),
    "KSampler": _native({"model": ("MODEL", {}), "seed": _SEED, "steps": ("INT", {"default": 20}),
                         "cfg": ("FLOAT", {"default": 8.0}), "sampler_name": (["euler", "uni_pc"], {}),
                         "scheduler": (["simple", "normal"], {}), "positive": ("CONDITIONING", {}),
                         "negative": ("CONDITIONING", {}), "latent_image": ("LATENT", {}),
                         "denoise": ("FLOAT", {"default": 1.0})}, ["LATENT"]),
    "VAEDecode": _native({"samples": ("LATENT", {}), "vae": ("VAE", {})}, ["IMAGE"]),
}


def add_notes(workflow: dict, notes: tuple[str, ...]) -> dict:
    """``workflow`` with one ``Note`` node per text, stacked left of the leftmost node."""
    left = min((node["pos"][0] for node in workflow["nodes"]), default=0)
    top = min((node["pos"][1] for node in workflow["nodes"]), default=0)
    next_id = workflow["last_node_id"]
    for k, text in enumerate(notes):
        next_id += 1
        workflow["nodes"].append({
            "id": next_id, "type": "Note", "pos": [left - NOTE_WIDTH - 60, top + k * (NOTE_HEIGHT + NOTE_GAP)],
            "size": [NOTE_WIDTH, NOTE_HEIGHT], "flags": {}, "order": len(workflow["nodes"]), "mode": 0,
            "inputs": [], "outputs": [], "properties": {"text": ""}, "widgets_values": [text],
            "color": "#432", "bgcolor": "#653"})
    workflow["last_node_id"] = next_id
    return workflow


def write_ui(name: str) -> Path:
    """Convert ``workflows/api/<name>.json`` into ``workflows/<name>.json`` with its notes; returns the path."""
    info = {**local_object_info(), **NATIVE}
    api = ROOT / "workflows" / "api" / f"{name}.json"
    ui = ROOT / "workflows" / f"{name}.json"
    workflow = add_notes(api_to_ui(to_api(load_workflow(api), info), info), NOTES[name])
    ui.parent.mkdir(parents=True, exist_ok=True)
    partial = ui.with_suffix(".json.partial")
    partial.write_text(json.dumps(workflow, indent=1) + "\n")
    os.replace(partial, ui)
    return ui


def main(names: list[str]) -> int:
    for name in names or list(NOTES):
        print(f"wrote {write_ui(name).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
