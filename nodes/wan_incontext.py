"""In-context Wan nodes: load Wan2.1-I2V / SCAIL-2 (+VAE, +LoRA), build the prompt from native conditioning, and
sample SCAIL-2 or DreamActor-M2 into frames; thin wrappers over ``core.models`` and ``core.sampling``."""
from __future__ import annotations

import dataclasses

import torch

from ..core.errors import InputError
from ..core.models.checkpoint import load_safetensors
from ..core.models.loading import DtypePolicy
from ..core.models.scail2 import MODES
from ..core.models.wan_arch import I2V, SCAIL2
from ..core.models.wan_forward import COMPATS, OFFICIAL
from ..core.models.wan_loader import WanModels, load_wan_models
from ..core.sampling.dreamactor_m2 import generate_dreamactor
from ..core.sampling.scail2 import CLIP_VISION_FILE, Scail2Video, generate_scail2, has_image_branch, usable_frames
from ..core.sampling.segments import HISTORY_FRAMES, SEGMENT_FRAMES
from ..core.sampling.solvers import FLOW_SOLVERS, FlowSettings
from ..core.sampling.wan_prompt import WanPrompt
from . import _inputs as I
from ._host import model_file_names, progress_bar, resolve_input_path
from ._models import DEVICES, DTYPES, NONE, chosen_model_file, resolve_device
from ._types import WAN_MODELS, WAN_PROMPT

CATEGORY = "Choreograph/wan"
FP8_CHOICES = ("keep", "quantize", "upcast")


class ChoreoWanModelLoader:
    DESCRIPTION = ("Load a Wan2.1-I2V or SCAIL-2 transformer (ComfyUI file or diffusers folder; fp16/bf16/fp32 or "
                   "fp8_scaled) with the Wan2.1 VAE and an optional Wan LoRA merged at load. The variant is read "
                   "from the checkpoint's keys; wrong or damaged files are refused with the keys that do not fit.")
    CATEGORY = CATEGORY
    FUNCTION = "run"
    RETURN_TYPES = (WAN_MODELS, "STRING")
    RETURN_NAMES = ("wan_models", "summary")
    OUTPUT_TOOLTIPS = ("Transformer + VAE for the Choreograph SCAIL-2 / DreamActor-M2 samplers.",
                       "Detected variant and sizes.")

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "model_name": I.choice("Transformer from models/diffusion_models: SCAIL-2 (e.g. "
                                   "wan2.1_14B_SCAIL_2_fp16.safetensors) or Wan2.1-I2V-14B for DreamActor-M2.",
                                   model_file_names("diffusion_models") or [NONE]),
            "vae_name": I.choice("Wan2.1 VAE from models/vae (wan_2.1_vae.safetensors).",
                                 model_file_names("vae") or [NONE]),
            "weight_dtype": I.choice("Dtype weights and activations run in; bf16 on GPUs, fp32 on CPU.",
                                     tuple(DTYPES), "bf16"),
            "fp8": I.choice("keep: fp8 layers of an fp8_scaled file stay 8-bit and are upcast per layer when they "
                            "run; quantize: also store a 16-bit file's block weights in fp8 (half the memory); "
                            "upcast: dequantise everything at load.", FP8_CHOICES),
            "device": I.choice("Where the model runs; auto picks CUDA when available.", DEVICES),
        }, "optional": {
            "lora_name": I.choice("Optional Wan LoRA from models/loras (ComfyUI lora_A/lora_B + alpha, or kohya), "
                                  "merged into the weights at load.", [NONE] + model_file_names("loras")),
            "lora_strength": I.number("Multiplier on the LoRA's alpha/rank scale.", 1.0, -4.0, 4.0, 0.05),
            "blocks_on_gpu": I.integer("-1 keeps the whole transformer on the GPU; a number keeps that many blocks "
                                       "there and streams the others from CPU memory (for GPUs smaller than the "
                                       "model; slower).", -1, -1, 64),
        }}

    def run(self, model_name: str, vae_name: str, weight_dtype: str = "bf16", fp8: str = "keep",
            device: str = "auto", lora_name: str = NONE, lora_strength: float = 1.0, blocks_on_gpu: int = -1):
        loras = () if lora_name in (NONE, "") else ((chosen_model_file(lora_name, "loras", "lora_name"), lora_strength),)
        models = load_wan_models(chosen_model_file(model_name, "diffusion_models", "model_name"),
                                 chosen_model_file(vae_name, "vae", "vae_name"), DtypePolicy(DTYPES[weight_dtype], fp8),
                                 resolve_device(device), loras, None if blocks_on_gpu < 0 else blocks_on_gpu)
        arch = models.transformer.arch
        summary = (f"{arch.variant}: {arch.num_layers} blocks, dim {arch.dim}, {arch.in_channels} input channels"
                   + (f", {arch.mask_channels} mask channels" if arch.mask_channels else ""))
        return (models, summary)


def _conditioning_tensor(conditioning, input_name: str) -> torch.Tensor:
    """The umT5 embedding inside a native CONDITIONING (``[[tensor, {...}], ...]``), or a plain tensor."""
    if isinstance(conditioning, torch.Tensor):
        return conditioning
    try:
        return conditioning[0][0]
    except (TypeError, IndexError, KeyError) as exc:
        raise InputError(input_name, "is not a CONDITIONING", "connect CLIPTextEncode with the umT5 encoder") from exc


def _clip_tokens(clip_vision_output) -> torch.Tensor:
    tokens = getattr(clip_vision_output, "penultimate_hidden_states", clip_vision_output)
    if not isinstance(tokens, torch.Tensor):
        raise InputError("clip_vision_output", "has no penultimate_hidden_states",
                         "connect CLIPVisionEncode (crop none) with clip_vision_h")
    return tokens


def _encode_reference(clip_vision_name: str, reference_image: torch.Tensor | None) -> torch.Tensor:
    from ..core.models.cache import cached, file_stamp
    from ..core.models.clip_vision import load_clip_vision

    if reference_image is None:
        raise InputError("reference_image", "is needed to encode with clip_vision_name",
                         "connect the reference image, or a CLIP_VISION_OUTPUT instead")
    path = chosen_model_file(clip_vision_name, "clip_vision", "clip_vision_name")
    device = resolve_device("auto")
    encoder = cached("clip_vision", (file_stamp(path), device), lambda: load_clip_vision(path, device=device))
    return encoder.encode(_frames(reference_image)[0])


def with_reference_clip(prompt: WanPrompt, reference_image: torch.Tensor, model: torch.nn.Module) -> WanPrompt:
    """SCAIL-2 always sees the reference's CLIP-vision tokens: encode the reference with clip_vision_h from
    models/clip_vision when the prompt has none, else refuse naming the file and folder."""
    if prompt.image is not None or not has_image_branch(model):
        return prompt
    found = [n for n in model_file_names("clip_vision") if n.replace("\\", "/").split("/")[-1] == CLIP_VISION_FILE]
    if not found:
        raise InputError("prompt", f"has no CLIP-vision tokens and {CLIP_VISION_FILE} is not in models/clip_vision; "
                         "SCAIL-2 was trained with the reference's CLIP-vision tokens always present",
                         f"download {CLIP_VISION_FILE} into ComfyUI/models/clip_vision, or connect CLIPVisionEncode "
                         "(crop none) to the Wan Prompt node")
    return dataclasses.replace(prompt, image=_encode_reference(found[0], reference_image))


class ChoreoWanPrompt:
    DESCRIPTION = ("Collect the text and image context for the in-context Wan samplers: native CONDITIONING from "
                   "CLIPTextEncode (umT5) for positive/negative and CLIP_VISION_OUTPUT of the reference, or, "
                   "headless, a .safetensors file of precomputed embeddings (keys positive, negative, clip_vision).")
    CATEGORY = CATEGORY
    FUNCTION = "run"
    RETURN_TYPES = (WAN_PROMPT,)
    RETURN_NAMES = ("prompt",)
    OUTPUT_TOOLTIPS = ("Prompt embeddings (padded to Wan's 512 tokens at sampling time).",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {}, "optional": {
            "positive": ("CONDITIONING", {"tooltip": "umT5 embedding of a long, detailed prompt (CLIPTextEncode)."}),
            "negative": ("CONDITIONING", {"tooltip": "umT5 embedding of the negative prompt; CFG is on text only."}),
            "clip_vision_output": ("CLIP_VISION_OUTPUT", {"tooltip": "CLIPVisionEncode of the reference image "
                                                                     "(clip_vision_h, crop none)."}),
            "embeddings_file": I.text("Headless alternative: .safetensors with 'positive', 'negative' [L, 4096] and "
                                      "optional 'clip_vision' [257, 1280]; leave empty to use the inputs above."),
            "clip_vision_name": I.choice("Without a CLIP_VISION_OUTPUT: encode reference_image with this CLIP vision "
                                         "file from models/clip_vision (clip_vision_h.safetensors).",
                                         [NONE] + model_file_names("clip_vision")),
            "reference_image": I.image("Reference image for clip_vision_name (first frame is used)."),
        }}

    def run(self, positive=None, negative=None, clip_vision_output=None, embeddings_file: str = "",
            clip_vision_name: str = NONE, reference_image: torch.Tensor | None = None):
        if clip_vision_output is None and clip_vision_name not in (NONE, ""):
            clip_vision_output = _encode_reference(clip_vision_name, reference_image)
        if embeddings_file.strip():
            tensors = load_safetensors(resolve_input_path(embeddings_file, "embeddings_file"), "embeddings_file")
            missing = [k for k in ("positive", "negative") if k not in tensors]
            if missing:
                raise InputError("embeddings_file", f"has no {', '.join(missing)} tensor",
                                 "save the prompt embeddings under the keys positive and negative")
            image = tensors.get("clip_vision") if clip_vision_output is None else _clip_tokens(clip_vision_output)
            return (WanPrompt(tensors["positive"], tensors["negative"], image),)
        if positive is None or negative is None:
            raise InputError("positive", "positive and negative conditioning are required",
                             "connect two CLIPTextEncode nodes, or give an embeddings_file")
        image = None if clip_vision_output is None else _clip_tokens(clip_vision_output)
        return (WanPrompt(_conditioning_tensor(positive, "positive"), _conditioning_tensor(negative, "negative"),
                          image),)


def _sampling_inputs() -> dict:
    return {
        "steps": I.integer("Denoising steps per segment (40 for UniPC, 50 for Euler in the SCAIL-2 release).",
                           40, 1, 200),
        "cfg": I.number("Guidance on the text only (reference, driving and masks are in both branches).",
                        5.0, 1.0, 20.0, 0.1),
        "shift": I.number("Flow-matching sigma shift: 5 for 720p, 3 for 480p.", 5.0, 0.5, 20.0, 0.1),
        "solver": I.choice("unipc (wan-scail2 pipeline) or euler (SAT release).", tuple(FLOW_SOLVERS)),
        "seed": I.integer("Noise seed; the same seed gives the same video.", 0, 0, 2**63 - 1, seed=True),
        "segment_frames": I.integer("Frames per segment (4k+1); longer videos continue from history.",
                                    SEGMENT_FRAMES, 5, 241, 4),
        "history_frames": I.integer("Last generated frames handed to the next segment as clean history.",
                                    HISTORY_FRAMES, 1, 32),
    }


def _frames(image: torch.Tensor) -> torch.Tensor:
    return image[..., :3].float().cpu()


def _need(models: WanModels, variant: str, sampler: str) -> None:
    if models.variant != variant:
        raise InputError("wan_models", f"is a {models.variant} model; the {sampler} sampler needs {variant}",
                         f"load a {variant} checkpoint in the Wan model loader")


class ChoreoSCAIL2Sampler:
    DESCRIPTION = ("SCAIL-2 in-context generation: reference, driving video (half resolution) and binding-slot "
                   "colour masks go into the transformer's own sequence with mode-specific RoPE shifts; long videos "
                   "run as segments continued from the previous segment's last frames.")
    CATEGORY = CATEGORY
    FUNCTION = "run"
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("frames",)
    OUTPUT_TOOLTIPS = ("Generated frames at the reference's size: the driving video's frames truncated to 4k+1 "
                       "(as the official code and native ComfyUI do; the dropped count is logged).",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "wan_models": I.custom(WAN_MODELS, "A SCAIL-2 checkpoint from the Wan model loader."),
            "prompt": I.custom(WAN_PROMPT, "Prompt embeddings from the Wan prompt node. Without CLIP-vision tokens "
                               "the sampler encodes the reference with models/clip_vision/clip_vision_h.safetensors "
                               "(SCAIL-2 was trained with them always present)."),
            "reference_image": I.image("Reference image at the generation size (multiples of 32, e.g. 512x896)."),
            "driving_video": I.image("Driving frames (pose render or RGB) at the generation size."),
            "mode": I.choice("animation: the reference character moves in its own scene; replacement: the "
                             "characters replace those in the driving video's scene. Must match the masks.", MODES),
            "compat": I.choice("official: the conventions the released weights were trained with (zai-org/"
                               "SCAIL-2): driving-token RoPE pooled over 2x2 blocks (a deliberate difference from "
                               "native), both colour masks and the reference's CLIP tokens required, text padded "
                               "to 512. native: reproduces native ComfyUI's WanSCAILToVideo + model exactly "
                               "(mid-point driving positions, masks optional, no-CLIP allowed, area halving, "
                               "replacement reference composited by its mask, text unpadded), for comparing with "
                               "native results.", COMPATS),
            **_sampling_inputs(),
        }, "optional": {
            "pose_video_mask": I.image("Driving colour mask (SCAIL-2 colour masks node, or native "
                                       "SCAIL2ColoredMask): slot colours on black (animation) or white "
                                       "(replacement). Required in the official mode; native may leave it out."),
            "reference_image_mask": I.image("Reference colour mask: each character in its slot colour, on white "
                                            "(animation) or black (replacement), as SCAIL-2 was trained. Required "
                                            "in the official mode; native may leave it out."),
            "extra_reference_images": I.image("More views of the characters (a batch), each added as its own "
                                              "reference frame, at the generation size."),
            "extra_reference_masks": I.image("One colour mask per extra reference image (slot colours; white "
                                             "background in animation, black in replacement)."),
        }}

    def run(self, wan_models: WanModels, prompt: WanPrompt, reference_image: torch.Tensor,
            driving_video: torch.Tensor, pose_video_mask: torch.Tensor | None = None,
            reference_image_mask: torch.Tensor | None = None, mode: str = "animation", compat: str = OFFICIAL,
            steps: int = 40, cfg: float = 5.0, shift: float = 5.0, solver: str = "unipc", seed: int = 0,
            segment_frames: int = SEGMENT_FRAMES,
            history_frames: int = HISTORY_FRAMES, extra_reference_images: torch.Tensor | None = None,
            extra_reference_masks: torch.Tensor | None = None):
        _need(wan_models, SCAIL2, "SCAIL-2")
        extras = [None if x is None else _frames(x) for x in (extra_reference_images, extra_reference_masks)]
        video = Scail2Video(_frames(reference_image)[0], _frames(driving_video),
                            None if reference_image_mask is None else _frames(reference_image_mask)[0],
                            None if pose_video_mask is None else _frames(pose_video_mask), mode, compat, *extras)
        settings = FlowSettings(steps, shift, cfg, solver, seed)
        if compat == OFFICIAL:
            prompt = with_reference_clip(prompt, reference_image, wan_models.transformer.model)
        segments = _segment_count(usable_frames(driving_video.shape[0]), segment_frames, history_frames)
        with progress_bar(steps * segments, "SCAIL-2") as progress:
            frames = generate_scail2(wan_models.transformer.model, wan_models.codec, video, prompt, settings,
                                     segment_frames, history_frames, progress)
        return (frames,)


class ChoreoDreamActorSampler:
    DESCRIPTION = ("DreamActor-M2 ported to Wan2.1-I2V: reference and driving (pose render or RGB) side by side in "
                   "one double-width video through the stock 36-channel I2V input, with the DreamActor LoRA merged "
                   "at load; the left half is the animation.")
    CATEGORY = CATEGORY
    FUNCTION = "run"
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("frames",)
    OUTPUT_TOOLTIPS = ("Generated frames, as many as the driving video, at the reference's size.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "wan_models": I.custom(WAN_MODELS, "A Wan2.1-I2V checkpoint (with the DreamActor-M2 LoRA)."),
            "prompt": I.custom(WAN_PROMPT, "Prompt embeddings; CLIP vision of the reference recommended."),
            "reference_image": I.image("The character to animate, at the generation size (multiples of 16)."),
            "driving": I.image("Driving frames (pose render or RGB video), same size as the reference."),
            "pad_frames": I.integer("Zero-motion frames before the motion (first-second masking, 16 at 16 fps); "
                                    "dropped from the output.", 16, 0, 64, 4),
            **_sampling_inputs(),
        }, "optional": {
            "compat": I.choice("official: Wan2.1's own conventions (text padded to 512, CLIP of the reference "
                               "expected). native: native ComfyUI's WanModel exactly (text as given, no-CLIP "
                               "image branch on the text, odd latent sizes padded circularly), for comparing with "
                               "native results.", COMPATS),
        }}

    def run(self, wan_models: WanModels, prompt: WanPrompt, reference_image: torch.Tensor, driving: torch.Tensor,
            pad_frames: int = 16, steps: int = 40, cfg: float = 5.0, shift: float = 5.0, solver: str = "unipc",
            seed: int = 0, segment_frames: int = SEGMENT_FRAMES, history_frames: int = HISTORY_FRAMES,
            compat: str = OFFICIAL):
        _need(wan_models, I2V, "DreamActor-M2")
        settings = FlowSettings(steps, shift, cfg, solver, seed)
        segments = _segment_count(driving.shape[0], segment_frames, history_frames)
        with progress_bar(steps * segments, "DreamActor-M2") as progress:
            frames = generate_dreamactor(wan_models.transformer.model, wan_models.codec, _frames(reference_image)[0],
                                         _frames(driving), prompt, settings, pad_frames, segment_frames,
                                         history_frames, progress, compat)
        return (frames,)


def _segment_count(total: int, segment: int, history: int) -> int:
    from ..core.sampling.segments import plan_segments

    try:
        return len(plan_segments(total, segment, history))
    except ValueError as exc:
        raise InputError("segment_frames", str(exc), "use 4k+1 frames (81) and fewer history frames") from exc


NODE_CLASS_MAPPINGS = {
    "ChoreoWanModelLoader": ChoreoWanModelLoader,
    "ChoreoWanPrompt": ChoreoWanPrompt,
    "ChoreoSCAIL2Sampler": ChoreoSCAIL2Sampler,
    "ChoreoDreamActorSampler": ChoreoDreamActorSampler,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "ChoreoWanModelLoader": "Wan Model Loader (SCAIL-2 / I2V) (Choreograph)",
    "ChoreoWanPrompt": "Wan Prompt (Choreograph)",
    "ChoreoSCAIL2Sampler": "SCAIL-2 Sampler (Choreograph)",
    "ChoreoDreamActorSampler": "DreamActor-M2 Sampler (Choreograph)",
}
