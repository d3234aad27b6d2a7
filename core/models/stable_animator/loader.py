"""Load DanceTogether's parts from the public StableAnimator layout with the shared exact key check.

* ``unet``: StableAnimator's file (SVD-xt UNet + ``attn2.processor.id_to_k/v``) or a plain SVD-xt UNet, whose
  identity projections are then initialised from ``to_k``/``to_v`` as StableAnimator does.
* ``pose_net``: StableAnimator's PoseNet initialises the adapter's shared per-person PoseNet (the new fusion
  layers start at their default / zero init, SPEC §2.2) — or a full MaskPoseAdapter file from our fine-tuning.
* ``face_encoder``: FusionFaceId weights are MultiFace's weights (shared across identities).
* ``vae`` / ``image_encoder``: the ``vae/`` and ``image_encoder/`` folders of the SVD-xt diffusers release.

StableAnimator releases plain ``torch.save`` state dicts (``.pth``); they are read weights-only through the shared
``pth_checkpoint.open_weights`` (no code can run), ``.safetensors`` copies work the same. Sizes are read from the
files, so tiny test models load through the same path as the real ones.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn

from ...errors import InputError
from ..checkpoint import CheckpointReader
from ..loading import DtypePolicy, build_on_meta, load_weights
from ..pth_checkpoint import open_weights
from .face_encoder import FaceEncoderConfig, FaceIdEncoder
from .id_attention import install_identity_processors
from .mask_pose import MaskPoseAdapter, MaskPoseConfig
from .unet import SVD_XT_UNET_CONFIG, build_unet

ID_KEY_MARK = ".processor.id_to_k."
# What identifies a part's config.json when it names no class: (field, value).
UNNAMED_CONFIG_MARK = {"CLIPVisionModelWithProjection": ("model_type", "clip_vision_model"),
                       "AutoencoderKLTemporalDecoder": ("latent_channels", 4)}
POSE_NET_PREFIXES = ("conv_layers.", "final_proj.", "scale")


def _same(name: str) -> str:
    return name


def _load_into(factory, reader: CheckpointReader, policy: DtypePolicy, device: str | torch.device,
               input_name: str) -> nn.Module:
    model = build_on_meta(factory)
    return load_weights(model, reader, _same, policy, device, input_name)


def load_unet(path: str | Path, policy: DtypePolicy = DtypePolicy(), device: str | torch.device = "cpu",
              input_name: str = "unet") -> nn.Module:
    """The identity-attention SVD UNet; the ``config.json`` of a diffusers folder (or next to the file) when
    there is one, else SVD-xt's."""
    path = Path(path)
    reader = open_weights(path, input_name)
    try:
        config = {k: v for k, v in _unet_config(path, reader).items() if not k.startswith("_")}
        has_identity = any(ID_KEY_MARK in k for k in reader.keys())
        unet = _load_into(lambda: build_unet(config, identity=has_identity), reader, policy, device, input_name)
    finally:
        reader.close()
    if not has_identity:
        install_identity_processors(unet)
    return unet


def _unet_config(path: Path, reader: CheckpointReader) -> dict:
    """The diffusers folder's config, else a ``config.json`` beside the file, else SVD-xt's."""
    if reader.config is not None:
        return reader.config
    beside = path.parent / "config.json"
    if path.is_file() and beside.is_file():
        return json.loads(beside.read_text())
    return SVD_XT_UNET_CONFIG


def _adapter_config(reader: CheckpointReader, pose_only: bool) -> MaskPoseConfig:
    channels = reader.shape("final_proj.weight" if pose_only else "pose_net.final_proj.weight")[0]
    if pose_only:
        return MaskPoseConfig(channels=channels)
    people = reader.shape("person_attention.0.weight")[1] // channels
    return MaskPoseConfig(channels=channels, people=people, mask_channels=reader.shape("mask_processor.0.weight")[1])


def load_adapter(path: str | Path, policy: DtypePolicy = DtypePolicy(), device: str | torch.device = "cpu",
                 input_name: str = "pose_net") -> MaskPoseAdapter:
    """A MaskPoseAdapter from a StableAnimator PoseNet file (init) or from a full adapter file."""
    reader = open_weights(path, input_name)
    try:
        pose_only = all(k.startswith(POSE_NET_PREFIXES) for k in reader.keys())
        if not pose_only and "pose_net.final_proj.weight" not in reader:
            raise InputError(input_name, f"'{reader.name}' is neither a StableAnimator PoseNet nor a MaskPoseAdapter "
                             "file", "choose StableAnimator's pose_net weights (checkpoints/Animation/pose_net.pth "
                             "or a .safetensors copy)")
        config = _adapter_config(reader, pose_only)
        if pose_only:
            adapter = MaskPoseAdapter(config)
            load_weights(adapter.pose_net, reader, _same, policy, device, input_name)
            adapter.to(device=device, dtype=policy.compute)
            return adapter.eval().requires_grad_(False)
        return _load_into(lambda: MaskPoseAdapter(config), reader, policy, device, input_name)
    finally:
        reader.close()


def face_encoder_config(reader: CheckpointReader) -> FaceEncoderConfig:
    """Sizes of a FusionFaceId file, read from its shapes."""
    width = reader.shape("norm.weight")[0]
    depth = len({k.split(".")[2] for k in reader.keys() if k.startswith("fusion_model.layers.")})
    ff_inner = reader.shape("fusion_model.layers.0.1.1.weight")[0]
    return FaceEncoderConfig(width=width, clip_dim=reader.shape("fusion_model.proj_in.weight")[1],
                             tokens=reader.shape("proj.2.weight")[0] // width, depth=depth,
                             ff_mult=ff_inner // width, id_dim=reader.shape("proj.0.weight")[1])


def load_face_encoder(path: str | Path, policy: DtypePolicy = DtypePolicy(), device: str | torch.device = "cpu",
                      input_name: str = "face_encoder") -> FaceIdEncoder:
    reader = open_weights(path, input_name)
    try:
        if "norm.weight" not in reader or "proj.0.weight" not in reader:
            raise InputError(input_name, f"'{reader.name}' is not a StableAnimator face encoder (FusionFaceId)",
                             "choose StableAnimator's face_encoder weights "
                             "(checkpoints/Animation/face_encoder.pth or a .safetensors copy)")
        config = face_encoder_config(reader)
        return _load_into(lambda: FaceIdEncoder(config), reader, policy, device, input_name)
    finally:
        reader.close()


def load_vae(folder: str | Path, policy: DtypePolicy = DtypePolicy(), device: str | torch.device = "cpu",
             input_name: str = "svd_folder") -> nn.Module:
    """SVD's ``AutoencoderKLTemporalDecoder`` from a diffusers ``vae/`` folder (config + safetensors).

    With ``force_upcast`` in its config (SVD's) the VAE stays fp32 whatever the policy: the SVD pipeline upcasts
    it for encoding and decoding because 16-bit overflows; it is small (98M parameters).
    """
    from diffusers import AutoencoderKLTemporalDecoder

    reader = _diffusers_part(folder, "vae", "AutoencoderKLTemporalDecoder", input_name)
    try:
        config = {k: v for k, v in reader.config.items() if not k.startswith("_")}
        if config.get("force_upcast", True):
            policy = replace(policy, compute=torch.float32)
        return _load_into(lambda: AutoencoderKLTemporalDecoder(**config), reader, policy, device, input_name)
    finally:
        reader.close()


def load_image_encoder(folder: str | Path, policy: DtypePolicy = DtypePolicy(), device: str | torch.device = "cpu",
                       input_name: str = "svd_folder") -> nn.Module:
    """SVD's CLIP ViT-H image encoder (``CLIPVisionModelWithProjection``) from the ``image_encoder/`` folder."""
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    reader = _diffusers_part(folder, "image_encoder", "CLIPVisionModelWithProjection",
                             input_name)
    try:
        config = CLIPVisionConfig.from_dict(reader.config)
        return _load_into(lambda: CLIPVisionModelWithProjection(config), reader, policy, device, input_name)
    finally:
        reader.close()


def _diffusers_part(folder: str | Path, part: str, expected: str, input_name: str) -> CheckpointReader:
    """The reader of ``folder/part`` (or ``folder`` itself), refusing a config of another model class."""
    root = Path(folder)
    path = root / part if (root / part).is_dir() else root
    reader = open_weights(path, input_name)
    config = reader.config or {}
    found = config.get("_class_name") or (config.get("architectures") or [None])[0]
    if found is None and config.get(UNNAMED_CONFIG_MARK[expected][0]) == UNNAMED_CONFIG_MARK[expected][1]:
        found = expected  # a config saved without its class name (e.g. a bare transformers config)
    if found != expected:
        reader.close()
        what = f"holds a {found}" if found else "has no config.json next to its weights"
        raise InputError(input_name, f"'{path}' {what}, not the {expected} of SVD-xt",
                         f"point at the SVD-xt diffusers folder (with {part}/config.json)")
    return reader


@dataclass(frozen=True)
class DanceTogetherModel:
    """Everything DanceTogether samples with."""

    unet: nn.Module
    adapter: MaskPoseAdapter
    face_encoder: FaceIdEncoder
    vae: nn.Module
    image_encoder: nn.Module

    @property
    def device(self) -> torch.device:
        return self.unet.conv_in.weight.device


def load_dance_together(unet: str | Path, pose_net: str | Path, face_encoder: str | Path, svd_folder: str | Path,
                        policy: DtypePolicy = DtypePolicy(), device: str | torch.device = "cpu") -> DanceTogetherModel:
    """Load all parts; each error names the input (file) that caused it."""
    return DanceTogetherModel(unet=load_unet(unet, policy, device), adapter=load_adapter(pose_net, policy, device),
                              face_encoder=load_face_encoder(face_encoder, policy, device),
                              vae=load_vae(svd_folder, policy, device),
                              image_encoder=load_image_encoder(svd_folder, policy, device))
