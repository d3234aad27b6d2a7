"""DanceTogether (MaskPose) nodes: load the StableAnimator/SVD parts, embed faces per character, sample, decode.

Thin wrappers over ``core.models.stable_animator`` and ``core.faces``; per-person pose maps and masks come from
the guidance nodes (person-major batches in stream order), character slots from ``ChoreoCharacters``.
"""
from __future__ import annotations

from pathlib import Path

import torch

from ..core.conditioning.characters import CharacterSet
from ..core.errors import InputError
from ..core.faces.arcface import ArcFace, embed_faces
from ..core.faces.embeds import FaceEmbeds
from ..core.models.cache import cached, file_stamp
from ..core.models.loading import DtypePolicy
from ..core.models.stable_animator.loader import DanceTogetherModel, load_dance_together
from ..core.pose.sequence import PoseSequence
from ..core.sampling.edm import SvdSettings
from ..core.sampling.stable_animator import MaskPoseVideo, decode_latents, generate_latents
from ..core.sampling.tiles import TILE_FRAMES, TILE_OVERLAP
from . import _inputs as I
from ._host import model_file_names, progress_bar, resolve_input_path
from ._models import DEVICES, DTYPES, NONE, chosen_model_file, optional_model_file, resolve_device
from ._types import CHARACTERS, DANCE_TOGETHER_MODEL, FACE_EMBEDS, POSE

CATEGORY = "Choreograph/dance_together"
WEIGHTS_FOLDER = "stable_animator"  # unet / pose_net / face_encoder (.pth as released, or .safetensors)
SVD_FOLDER = "diffusers"  # the SVD-xt diffusers release (vae/, image_encoder/)
FACE_FOLDER = "insightface"  # ArcFace recognition ONNX, e.g. models/antelopev2/glintr100.onnx


def _svd_folder(value: str) -> Path:
    """A folder under models/diffusers (or the input folder) holding the SVD-xt diffusers release."""
    return resolve_input_path(value, "svd_folder", model_folder=SVD_FOLDER)


class ChoreoMaskPoseLoader:
    DESCRIPTION = ("Load DanceTogether on StableAnimator/SVD-xt: StableAnimator's unet (with identity attention), "
                   "pose_net (initialises the MaskPose adapter's shared per-person PoseNet, or a full fine-tuned "
                   "adapter file) and face_encoder (MultiFace), plus SVD-xt's VAE and CLIP image encoder. Every file "
                   "is checked key by key; .pth files are read weights-only.")
    CATEGORY = CATEGORY
    FUNCTION = "run"
    RETURN_TYPES = (DANCE_TOGETHER_MODEL, "STRING")
    RETURN_NAMES = ("model", "summary")
    OUTPUT_TOOLTIPS = ("UNet + MaskPose adapter + MultiFace encoder + VAE + image encoder.",
                       "Sizes read from the files.")

    @classmethod
    def INPUT_TYPES(cls):
        files = model_file_names(WEIGHTS_FOLDER) or [NONE]
        return {"required": {
            "unet": I.choice("StableAnimator unet (checkpoints/Animation/unet.pth) from models/stable_animator, or a "
                             "plain SVD-xt UNet (identity layers then start from its to_k/to_v).", files),
            "pose_net": I.choice("StableAnimator pose_net.pth, or a fine-tuned MaskPose adapter file.", files),
            "face_encoder": I.choice("StableAnimator face_encoder.pth (FusionFaceId; shared by all identities).",
                                     files),
            "svd_folder": I.text("SVD-xt diffusers folder (its name under models/diffusers) holding vae/ and "
                                 "image_encoder/.", default="stable-video-diffusion-img2vid-xt"),
            "weight_dtype": I.choice("Dtype the networks run in; fp16 on GPUs, fp32 on CPU.", tuple(DTYPES), "fp16"),
            "device": I.choice("Where the model runs; auto picks CUDA when available.", DEVICES),
        }}

    def run(self, unet: str, pose_net: str, face_encoder: str, svd_folder: str, weight_dtype: str = "fp16",
            device: str = "auto"):
        paths = {"unet": chosen_model_file(unet, WEIGHTS_FOLDER, "unet"),
                 "pose_net": chosen_model_file(pose_net, WEIGHTS_FOLDER, "pose_net"),
                 "face_encoder": chosen_model_file(face_encoder, WEIGHTS_FOLDER, "face_encoder"),
                 "svd_folder": _svd_folder(svd_folder)}
        target = resolve_device(device)
        key = (tuple(file_stamp(p) for p in paths.values()), weight_dtype, target)
        model = cached("dance_together", key, lambda: load_dance_together(
            **paths, policy=DtypePolicy(DTYPES[weight_dtype]), device=target))
        adapter = model.adapter.config
        summary = (f"UNet {list(model.unet.config.block_out_channels)}, adapter {adapter.channels} ch for "
                   f"{adapter.people} people, {model.face_encoder.config.tokens} face tokens per person")
        return (model, summary)


class ChoreoMultiFaceEmbeds:
    DESCRIPTION = ("ArcFace identity vector per character, in stream order, from the reference image. Faces are "
                   "aligned from the reference poses' eye, nose and mouth keypoints; a face that is not visible "
                   "(or no ArcFace model) gives the zero vector DanceTogether was trained with for missing faces.")
    CATEGORY = CATEGORY
    FUNCTION = "run"
    RETURN_TYPES = (FACE_EMBEDS, CHARACTERS, "STRING")
    RETURN_NAMES = ("face_embeds", "characters", "summary")
    OUTPUT_TOOLTIPS = ("One 512-d vector per character (driving track ids, stream order).",
                       "The character slots with their face embeddings set.",
                       "Which characters have a face.")

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "reference_image": I.image("The reference image the characters were cut from (first frame is used)."),
            "reference_poses": I.custom(POSE, "Poses found on the reference image (the characters' reference ids)."),
            "characters": I.custom(CHARACTERS, "Character slots; decide the order and the driving track ids."),
            "arcface_model": I.choice("ArcFace recognition ONNX from models/insightface (antelopev2 glintr100.onnx); "
                                      "none gives zero vectors.", [NONE] + model_file_names(FACE_FOLDER)),
        }}

    def run(self, reference_image: torch.Tensor, reference_poses: PoseSequence, characters: CharacterSet,
            arcface_model: str = NONE):
        image = reference_image[0] if reference_image.ndim == 4 else reference_image
        arcface_path = optional_model_file(arcface_model, FACE_FOLDER, "arcface_model")
        arcface = None if arcface_path is None else ArcFace(arcface_path)
        by_reference = embed_faces(arcface, image.cpu().numpy(), reference_poses)
        ids = [c.reference_id for c in characters.characters]
        picked = by_reference.for_tracks(ids, "reference_poses")
        faces = FaceEmbeds(picked.vectors, characters.track_ids, picked.found)
        found = {t: v for t, v, f in zip(faces.track_ids, faces.vectors, faces.found) if f}
        return (faces, characters.with_face_embeddings(found), faces.describe())


def _per_person(batch: torch.Tensor, people: int, input_name: str) -> torch.Tensor:
    """A person-major batch ``(people·T, ...)`` → ``(people, T, ...)``."""
    if people < 1:
        raise InputError("people", f"is {people}", "connect the 'people' output of the per-person node")
    if batch.shape[0] % people:
        raise InputError(input_name, f"holds {batch.shape[0]} images, not a multiple of people = {people}",
                         "connect the person-major batch and its people count from the same node")
    return batch.reshape(people, batch.shape[0] // people, *batch.shape[1:])


class ChoreoMaskPoseSampler:
    DESCRIPTION = ("DanceTogether sampling: each person's pose map is fused with that person's mask (MaskPose "
                   "adapter) and each person's face becomes identity tokens, so who moves how stays bound. EDM Euler "
                   "with SVD conditioning and frame-ramped CFG; videos longer than one tile run as 16-frame tiles "
                   "anchored on frame 0.")
    CATEGORY = CATEGORY
    FUNCTION = "run"
    RETURN_TYPES = ("LATENT",)
    RETURN_NAMES = ("latent",)
    OUTPUT_TOOLTIPS = ("SVD latents [frames, 4, H/8, W/8] for ChoreoMaskPoseDecode.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "model": I.custom(DANCE_TOGETHER_MODEL, "From ChoreoMaskPoseLoader."),
            "reference_image": I.image("Reference image (first frame used), same size as the pose maps."),
            "pose_maps": I.image("Per-person pose maps, person-major (ChoreoPerPersonPoseMaps)."),
            "masks": I.mask("Per-person body masks, person-major in the same order (ChoreoIdentityMasks mask_batch)."),
            "people": I.integer("Number of people in the pose-map and mask batches.", 2, 1, 16),
            "face_embeds": I.custom(FACE_EMBEDS, "One face vector per person, same order (ChoreoMultiFaceEmbeds)."),
            "steps": I.integer("Euler steps (25 in StableAnimator / DanceTogether).", 25, 1, 200),
            "min_guidance": I.number("CFG on the first frame; ramps linearly to max_guidance.", 3.0, 1.0, 20.0, 0.1),
            "max_guidance": I.number("CFG on the last frame (3.0 in DanceTogether).", 3.0, 1.0, 20.0, 0.1),
            "fps": I.integer("Frame-rate conditioning (7 at inference).", 7, 1, 60),
            "motion_bucket": I.integer("SVD motion bucket id (127).", 127, 0, 1023),
            "noise_aug": I.number("Noise added to the reference before encoding (0.02).", 0.02, 0.0, 1.0, 0.01),
            "tile_frames": I.integer("Frames per tile for long videos (16).", TILE_FRAMES, 2, 64),
            "tile_overlap": I.integer("Frames shared by neighbouring tiles (4).", TILE_OVERLAP, 0, 62),
            "seed": I.integer("Noise seed.", 0, 0, 2**63 - 1, seed=True),
        }}

    def run(self, model: DanceTogetherModel, reference_image: torch.Tensor, pose_maps: torch.Tensor,
            masks: torch.Tensor, people: int, face_embeds: FaceEmbeds, steps: int = 25, min_guidance: float = 3.0,
            max_guidance: float = 3.0, fps: int = 7, motion_bucket: int = 127, noise_aug: float = 0.02,
            tile_frames: int = TILE_FRAMES, tile_overlap: int = TILE_OVERLAP, seed: int = 0):
        if len(face_embeds.track_ids) != people:
            raise InputError("face_embeds", f"holds {len(face_embeds.track_ids)} faces for {people} people",
                             "embed the faces of the same characters, in stream order")
        if tile_overlap >= tile_frames - 1:
            raise InputError("tile_overlap", f"{tile_overlap} leaves no new frames in tiles of {tile_frames}",
                             "use an overlap smaller than tile_frames - 1 (default 4 of 16)")
        video = MaskPoseVideo(reference=reference_image[0].float().cpu(),
                              pose_maps=_per_person(pose_maps.float().cpu(), people, "pose_maps"),
                              masks=_per_person(masks.float().cpu(), people, "masks"), faces=face_embeds.tensor())
        settings = SvdSettings(steps=steps, min_guidance=min_guidance, max_guidance=max_guidance, fps=fps,
                               motion_bucket=motion_bucket, noise_aug=noise_aug, seed=seed, tile=tile_frames,
                               overlap=tile_overlap)
        with progress_bar(steps, "DanceTogether") as progress:
            latents = generate_latents(model, video, settings, progress)
        return ({"samples": latents[0].cpu()},)


class ChoreoMaskPoseDecode:
    DESCRIPTION = "Decode DanceTogether latents with SVD's temporal VAE decoder, a few frames per call."
    CATEGORY = CATEGORY
    FUNCTION = "run"
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("frames",)
    OUTPUT_TOOLTIPS = ("Frames [T, H, W, 3], values 0-1.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "model": I.custom(DANCE_TOGETHER_MODEL, "From ChoreoMaskPoseLoader (its VAE decodes)."),
            "latent": I.latent("From ChoreoMaskPoseSampler."),
            "decode_chunk": I.integer("Frames per decoder call (4 in StableAnimator; lower saves memory).", 4, 1, 64),
        }}

    def run(self, model: DanceTogetherModel, latent: dict, decode_chunk: int = 4):
        samples = latent.get("samples") if isinstance(latent, dict) else None
        if samples is None or samples.ndim != 4 or samples.shape[1] != 4:
            raise InputError("latent", "is not an SVD latent [frames, 4, h, w]", "connect ChoreoMaskPoseSampler")
        with progress_bar(samples.shape[0], "decode") as progress:
            frames = decode_latents(model.vae, samples[None].float(), decode_chunk, progress)
        return (frames,)


NODE_CLASS_MAPPINGS = {
    "ChoreoMaskPoseLoader": ChoreoMaskPoseLoader,
    "ChoreoMultiFaceEmbeds": ChoreoMultiFaceEmbeds,
    "ChoreoMaskPoseSampler": ChoreoMaskPoseSampler,
    "ChoreoMaskPoseDecode": ChoreoMaskPoseDecode,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "ChoreoMaskPoseLoader": "DanceTogether Loader (StableAnimator / SVD)",
    "ChoreoMultiFaceEmbeds": "DanceTogether Face Embeddings (ArcFace)",
    "ChoreoMaskPoseSampler": "DanceTogether MaskPose Sampler",
    "ChoreoMaskPoseDecode": "DanceTogether Decode",
}
