"""EverybodyDance / AnimateAnyone nodes: load the Moore-AnimateAnyone weights, encode the reference into the
ReferenceNet bank, sample a clip driven by an identity-coloured (IEG) skeleton video, decode.

Thin wrappers over ``core.models.animate_anyone``; IEG frames come from ``ChoreoRenderSkeletons`` (palette ieg),
character slots and masks (for the Identity Matching Graph diagnostic) from the guidance nodes.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..core.conditioning.characters import CharacterSet
from ..core.errors import InputError
from ..core.models.animate_anyone import img
from ..core.models.animate_anyone.loader import AnimateAnyoneFiles, AnimateAnyoneModels, load_animate_anyone
from ..core.models.animate_anyone.reference_ieg import render_reference_ieg
from ..core.models.cache import cached, file_stamp
from ..core.pose.sequence import PoseSequence
from ..core.render.masks import IdentityMasks
from ..core.sampling.animate_anyone import (
    MatchingDiagnostic,
    ReferenceEncoding,
    sample_video,
    vae_decode,
)
from ..core.sampling.animate_anyone import encode_reference as encode
from ..core.sampling.context_windows import CONTEXT_FRAMES, CONTEXT_OVERLAP, ContextSchedule
from ..core.sampling.ddim import DdimSettings
from . import _inputs as I
from ._host import model_file_names, progress_bar
from ._models import DEVICES, DTYPES, NONE, chosen_model_file, optional_model_file, resolve_device
from ._types import ANIMATE_ANYONE_MODEL, CHARACTERS, MASKS, POSE, REFERENCE_BANK

CATEGORY = "Choreograph/reference_net"
FOLDER = "animate_anyone"  # Moore's pretrained_weights/ layout: the four .pth, sd-vae-ft-mse/, image_encoder/


class ChoreoReferenceNetLoader:
    DESCRIPTION = ("Load AnimateAnyone (Moore-AnimateAnyone release) for EverybodyDance: ReferenceNet, denoising "
                   "UNet + motion module, pose guider, optional EverybodyDance reference-IEG guider, sd-vae-ft-mse "
                   "VAE and the sd-image-variations CLIP image encoder. Every file is checked key by key; .pth/.bin "
                   "files are read weights-only.")
    CATEGORY = CATEGORY
    FUNCTION = "run"
    RETURN_TYPES = (ANIMATE_ANYONE_MODEL, "STRING")
    RETURN_NAMES = ("model", "summary")
    OUTPUT_TOOLTIPS = ("All AnimateAnyone networks with reference attention installed.", "Sizes read from the files.")

    @classmethod
    def INPUT_TYPES(cls):
        files = model_file_names(FOLDER) or [NONE]
        return {"required": {
            "reference_unet": I.choice("reference_unet.pth (or .safetensors) from models/animate_anyone.", files),
            "denoising_unet": I.choice("denoising_unet.pth: the stage-1 spatial UNet.", files),
            "motion_module": I.choice("motion_module.pth: the stage-2 temporal layers.", files),
            "pose_guider": I.choice("pose_guider.pth: encodes the driving IEG skeleton frames.", files),
            "ref_pose_guider": I.choice("EverybodyDance's reference-IEG guider; none starts it at zero, which is "
                                        "exactly the released AnimateAnyone behaviour.", [NONE] + files),
            "vae": I.choice("sd-vae-ft-mse/diffusion_pytorch_model.safetensors (or .bin).", files),
            "image_encoder": I.choice("image_encoder/pytorch_model.bin (or .safetensors) of "
                                      "sd-image-variations-diffusers (CLIP ViT-L/14).", files),
            "weight_dtype": I.choice("Dtype the networks run in; fp16 on GPUs, fp32 on CPU.", tuple(DTYPES), "fp16"),
            "device": I.choice("Where the model runs; auto picks CUDA when available.", DEVICES),
        }}

    def run(self, reference_unet: str, denoising_unet: str, motion_module: str, pose_guider: str,
            ref_pose_guider: str, vae: str, image_encoder: str, weight_dtype: str = "fp16", device: str = "auto"):
        files = AnimateAnyoneFiles(
            reference_unet=chosen_model_file(reference_unet, FOLDER, "reference_unet"),
            denoising_unet=chosen_model_file(denoising_unet, FOLDER, "denoising_unet"),
            motion_module=chosen_model_file(motion_module, FOLDER, "motion_module"),
            pose_guider=chosen_model_file(pose_guider, FOLDER, "pose_guider"),
            vae=chosen_model_file(vae, FOLDER, "vae"), image_encoder=chosen_model_file(image_encoder, FOLDER, "image_encoder"),
            ref_pose_guider=optional_model_file(ref_pose_guider, FOLDER, "ref_pose_guider"))
        target = resolve_device(device)
        stamps = tuple(file_stamp(p) if p else None for p in vars(files).values())
        models = cached("animate_anyone", (stamps, weight_dtype, target),
                        lambda: load_animate_anyone(files, DTYPES[weight_dtype], target))
        config = models.config
        summary = (f"UNet {list(config.block_out_channels)}, {len(models.reader.attentions)} reference-attention "
                   f"blocks, motion modules up to {config.motion_max_frames} frames, {weight_dtype} on {target}")
        return (models, summary)


def _first_image(image: torch.Tensor | None) -> torch.Tensor | None:
    return None if image is None else (image[0] if image.dim() == 4 else image)


class ChoreoReferenceNetEncode:
    DESCRIPTION = ("Run the ReferenceNet once on the reference image with its identity-coloured skeleton (IEG): "
                   "the result (the reference bank plus the CLIP image embedding) conditions every frame. The IEG "
                   "is either connected as an image, or drawn here from the reference poses in the characters' "
                   "slot colours.")
    CATEGORY = CATEGORY
    FUNCTION = "run"
    RETURN_TYPES = (REFERENCE_BANK, "IMAGE")
    RETURN_NAMES = ("reference", "reference_ieg")
    OUTPUT_TOOLTIPS = ("ReferenceNet bank and CLIP context for the sampler.",
                       "The reference IEG that was used, IMAGE [1, height, width, 3].")

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "model": I.custom(ANIMATE_ANYONE_MODEL, "From the ReferenceNet loader."),
            "reference_image": I.image("The reference image (first frame used); sides a multiple of 64, e.g. 768x512."),
        }, "optional": {
            "reference_ieg": I.image("The reference poses rendered with the IEG palette at the reference image's "
                                     "size, in the same slot colours as the driving IEG video."),
            "reference_poses": I.custom(POSE, "Instead of reference_ieg: the reference image's poses, drawn here in "
                                        "the characters' slot colours."),
            "characters": I.custom(CHARACTERS, "Character slots: which reference person gets which colour."),
        }}

    def run(self, model: AnimateAnyoneModels, reference_image: torch.Tensor, reference_ieg: torch.Tensor | None = None,
            reference_poses: PoseSequence | None = None, characters: CharacterSet | None = None):
        image = _first_image(reference_image)
        ieg = _first_image(reference_ieg)
        if ieg is None and reference_poses is not None and characters is not None:
            drawn = render_reference_ieg(reference_poses, characters, image.shape[0], image.shape[1])
            ieg = torch.from_numpy(drawn)
        encoding = encode(model, image, ieg)
        return (encoding, ieg.unsqueeze(0).float())


def _resized(masks: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``(N, k, h, w)`` → nearest-resized ``(N, k, H, W)``."""
    return F.interpolate(masks.float(), size=size, mode="nearest") if masks.shape[-2:] != size else masks.float()


def _diagnostic(characters: CharacterSet | None, masks: IdentityMasks | None, layers: int, model: AnimateAnyoneModels,
                size: tuple[int, int]) -> MatchingDiagnostic | None:
    """Masks in character order, so generated character j's true partner is reference character j."""
    if characters is None and masks is None:
        return None
    if characters is None or masks is None:
        raise InputError("characters" if characters is None else "driving_masks",
                         "the IMG diagnostic needs both character slots and driving masks",
                         "connect both, or neither to skip the diagnostic")
    missing = [t for t in characters.track_ids if t not in masks.track_ids]
    if missing:
        raise InputError("driving_masks", f"no masks for character tracks {missing}",
                         "build the masks from the same tracked poses as the characters")
    generated = torch.from_numpy(masks.select(list(characters.track_ids)).masks.astype("float32"))
    reference = torch.from_numpy(characters.reference_masks).unsqueeze(0)
    return MatchingDiagnostic(_resized(generated, size), _resized(reference, size)[0],
                              img.matching_blocks(model.config, layers))


def describe_edge_weights(weights: dict[str, torch.Tensor], track_ids: tuple[int, ...]) -> str:
    """Mean IC score per block over frames where it is defined, and the mean edge-weight matrix."""
    lines = []
    partner = torch.arange(len(track_ids))
    for block, w in weights.items():
        score, valid = img.ic_score(w, partner.expand(w.shape[0], -1))
        mean = score[valid].mean().item() if valid.any() else float("nan")
        matrix = w[valid].mean(0) if valid.any() else torch.zeros(len(track_ids), len(track_ids))
        rows = "; ".join(f"track {t}: " + " ".join(f"{v:.2f}" for v in row.tolist()) for t, row in zip(track_ids, matrix))
        lines.append(f"{block}: IC {mean:.3f} over {int(valid.sum())} frames | w(ref i, gen j): {rows}")
    return "\n".join(lines)


class ChoreoReferenceNetSampler:
    DESCRIPTION = ("EverybodyDance sampling on AnimateAnyone: DDIM (v-prediction, zero-terminal-SNR, trailing), "
                   "classifier-free guidance with the reference attention and CLIP context dropped in the "
                   "unconditional branch, overlapping context windows for long clips. With characters and driving "
                   "masks it also reports the Identity Matching Graph: how much each generated character attends "
                   "to each reference character.")
    CATEGORY = CATEGORY
    FUNCTION = "run"
    RETURN_TYPES = ("LATENT", "STRING")
    RETURN_NAMES = ("latent", "identity_matching")
    OUTPUT_TOOLTIPS = ("Latents {samples: [1, 4, frames, H/8, W/8]} (scaled by 0.18215).",
                       "IMG report per matching layer (empty without characters and masks).")

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "model": I.custom(ANIMATE_ANYONE_MODEL, "From the ReferenceNet loader."),
            "reference": I.custom(REFERENCE_BANK, "From the ReferenceNet encoder."),
            "pose_video": I.image("Driving IEG skeleton frames at the reference image's size; each character in "
                                  "its reference counterpart's slot colour."),
            "steps": I.integer("DDIM steps (AnimateAnyone uses 30).", 30, 1, 200),
            "cfg": I.number("Guidance scale (AnimateAnyone uses 3.5); 1 skips the unconditional pass.",
                            3.5, 1.0, 20.0, 0.1),
            "seed": I.integer("Noise seed.", 0, 0, 2**63 - 1, seed=True),
            "context_frames": I.integer("Frames per context window (motion modules see at most 32).",
                                        CONTEXT_FRAMES, 1, 32),
            "context_overlap": I.integer("Frames shared by neighbouring windows.", CONTEXT_OVERLAP, 0, 31),
            "closed_loop": I.boolean("Let the last window wrap around to the first frames (AnimateAnyone's "
                                     "default); off keeps windows inside the clip.", True),
        }, "optional": {
            "characters": I.custom(CHARACTERS, "Character slots (with reference masks) for the IMG diagnostic."),
            "driving_masks": I.custom(MASKS, "Per-identity masks of the driving video for the IMG diagnostic."),
            "matching_layers": I.integer("How many matching layers the diagnostic reports (SPEC: mid, up1, up2).",
                                         3, 1, 4),
            "shift_windows": I.boolean("Move the context windows every step so seams never stay on the same "
                                       "frames; off reproduces Moore-AnimateAnyone's release (the same windows at "
                                       "every step).", True),
        }}

    def run(self, model: AnimateAnyoneModels, reference: ReferenceEncoding, pose_video: torch.Tensor, steps: int = 30,
            cfg: float = 3.5, seed: int = 0, context_frames: int = CONTEXT_FRAMES,
            context_overlap: int = CONTEXT_OVERLAP, closed_loop: bool = True, characters: CharacterSet | None = None,
            driving_masks: IdentityMasks | None = None, matching_layers: int = 3, shift_windows: bool = True):
        if context_overlap >= context_frames:
            raise InputError("context_overlap", f"{context_overlap} is not below context_frames {context_frames}",
                             "use a smaller overlap (4 is the default)")
        layers = min(matching_layers, len(model.config.block_out_channels))
        diagnostic = _diagnostic(characters, driving_masks, layers, model, (reference.height, reference.width))
        with progress_bar(steps, "ReferenceNet sampling") as progress:
            result = sample_video(model, reference, pose_video, DdimSettings(steps, cfg, seed),
                                  ContextSchedule(context_frames, context_overlap, closed_loop, shift_windows),
                                  diagnostic, progress)
        report = describe_edge_weights(result.edge_weights, characters.track_ids) if diagnostic else ""
        return ({"samples": result.latents.cpu()}, report)


class ChoreoReferenceNetDecode:
    DESCRIPTION = "Decode AnimateAnyone latents with the sd-vae-ft-mse VAE, a few frames at a time."
    CATEGORY = CATEGORY
    FUNCTION = "run"
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("frames",)
    OUTPUT_TOOLTIPS = ("Frames as IMAGE [frames, height, width, 3], values 0-1.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "model": I.custom(ANIMATE_ANYONE_MODEL, "From the ReferenceNet loader."),
            "latent": I.latent("From the ReferenceNet sampler."),
        }}

    def run(self, model: AnimateAnyoneModels, latent: dict):
        samples = latent["samples"]
        if samples.dim() != 5 or samples.shape[1] != 4:
            raise InputError("latent", f"expected [1, 4, frames, h, w] AnimateAnyone latents, got {tuple(samples.shape)}",
                             "connect the ReferenceNet sampler's latent")
        with progress_bar(samples.shape[2], "decoding") as progress, torch.no_grad():
            return (vae_decode(model, samples, progress),)


NODE_CLASS_MAPPINGS = {
    "ChoreoReferenceNetLoader": ChoreoReferenceNetLoader,
    "ChoreoReferenceNetEncode": ChoreoReferenceNetEncode,
    "ChoreoReferenceNetSampler": ChoreoReferenceNetSampler,
    "ChoreoReferenceNetDecode": ChoreoReferenceNetDecode,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "ChoreoReferenceNetLoader": "ReferenceNet Loader (AnimateAnyone / EverybodyDance)",
    "ChoreoReferenceNetEncode": "ReferenceNet Encode Reference",
    "ChoreoReferenceNetSampler": "ReferenceNet Sampler (EverybodyDance)",
    "ChoreoReferenceNetDecode": "ReferenceNet Decode",
}
