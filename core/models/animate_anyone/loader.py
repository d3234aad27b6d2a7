"""Load the AnimateAnyone networks from the public Moore-AnimateAnyone release (SPEC §1.1, ``manifests/``).

Files: ``reference_unet``, ``denoising_unet`` (stage 1, no motion keys), ``motion_module`` (stage 2), ``pose_guider``,
optionally an EverybodyDance ``ref_pose_guider`` (absent: zero-initialised, i.e. the pretrained behaviour), the
sd-vae-ft-mse VAE and the sd-image-variations CLIP image encoder. Each is ``.safetensors`` or a weights-only
``.pth``/``.bin``; every network is built on the meta device and filled through the shared exact-key loader, so a
file of another model is an error naming the keys, not a silently half-loaded network.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ...errors import InputError
from ..checkpoint import CheckpointReader
from ..loading import DtypePolicy, build_on_meta, load_weights
from ..pth_checkpoint import open_weights, renamed
from . import keys, networks
from .config import CONFIG_METADATA_KEY, SD15, AnimateAnyoneConfig
from .reference_attention import ReferenceReader, ReferenceWriter

# Keys some exports carry that current libraries derive themselves.
IGNORED_IMAGE_ENCODER_KEYS = ("vision_model.embeddings.position_ids",)


@dataclass(frozen=True)
class AnimateAnyoneFiles:
    """Paths of the weight files (see the module docstring)."""

    reference_unet: Path
    denoising_unet: Path
    motion_module: Path
    pose_guider: Path
    vae: Path
    image_encoder: Path
    ref_pose_guider: Path | None = None


@dataclass(frozen=True)
class AnimateAnyoneModels:
    """The loaded networks plus the reference-attention controls installed on the two UNets."""

    config: AnimateAnyoneConfig
    reference_unet: nn.Module
    denoising_unet: nn.Module
    pose_guider: nn.Module
    ref_pose_guider: nn.Module
    vae: nn.Module
    image_encoder: nn.Module
    writer: ReferenceWriter
    reader: ReferenceReader
    dtype: torch.dtype
    device: torch.device


def assemble(config: AnimateAnyoneConfig, reference_unet: nn.Module, denoising_unet: nn.Module,
             pose_guider: nn.Module, ref_pose_guider: nn.Module, vae: nn.Module, image_encoder: nn.Module,
             dtype: torch.dtype, device: torch.device | str) -> AnimateAnyoneModels:
    """Bundle loaded (or freshly built, for training) networks and install reference attention on the UNets."""
    return AnimateAnyoneModels(config, reference_unet, denoising_unet, pose_guider, ref_pose_guider, vae,
                               image_encoder, ReferenceWriter(reference_unet), ReferenceReader.install(denoising_unet),
                               dtype, torch.device(device))


def load_animate_anyone(files: AnimateAnyoneFiles, dtype: torch.dtype = torch.float16,
                        device: torch.device | str = "cpu",
                        config: AnimateAnyoneConfig | None = None) -> AnimateAnyoneModels:
    """Load every network; sizes from ``config``, else the denoising UNet file's metadata, else SD1.5."""
    policy = DtypePolicy(compute=dtype, fp8_storage="upcast")
    unet_reader = _open(files.denoising_unet, "denoising_unet", "UNet")
    config = config or config_from(unet_reader)
    load = _Loader(config, policy, device)
    ref_pose_guider = (load.plain(files.ref_pose_guider, networks.build_pose_guider, "ref_pose_guider", "pose guider")
                       if files.ref_pose_guider else networks.build_pose_guider(config).to(device, dtype))
    return assemble(
        config,
        load.plain(files.reference_unet, networks.build_reference_unet, "reference_unet", "UNet"),
        load.denoising_unet(unet_reader, files.motion_module),
        load.plain(files.pose_guider, networks.build_pose_guider, "pose_guider", "pose guider"),
        ref_pose_guider.eval().requires_grad_(False),
        load.plain(files.vae, networks.build_vae, "vae", "VAE", keys.vae_to_diffusers),
        load.plain(files.image_encoder, networks.build_image_encoder, "image_encoder", "CLIP image encoder",
                   drop=IGNORED_IMAGE_ENCODER_KEYS),
        dtype, device)


def config_from(reader: CheckpointReader) -> AnimateAnyoneConfig:
    """The sizes recorded in the file's metadata (tiny/custom builds), else the released SD1.5 sizes."""
    text = reader.metadata.get(CONFIG_METADATA_KEY)
    return AnimateAnyoneConfig.from_json(text) if text else SD15


def file_kind(names: list[str]) -> str:
    """What a set of keys looks like, so a file put into the wrong slot gets a message naming both."""
    if names and all(keys.is_motion_key(n) for n in names):
        return "motion module"
    if any(n.startswith("vision_model.") for n in names):
        return "CLIP image encoder"
    if any(n.startswith(("encoder.", "decoder.")) for n in names):
        return "VAE"
    if names and all(n.split(".")[0] in ("conv_in", "blocks", "conv_out") for n in names):
        return "pose guider"
    if any(n.startswith(("down_blocks.", "mid_block.")) for n in names):
        return "UNet"
    return "unknown model"


def _open(path: Path, input_name: str, expected_kind: str) -> CheckpointReader:
    reader = open_weights(path, input_name)
    kind = file_kind(reader.keys())
    if kind != expected_kind:
        found = "an unrecognised checkpoint" if kind == "unknown model" else f"a {kind} checkpoint"
        raise InputError(input_name, f"'{reader.name}' looks like {found}, not a {expected_kind}",
                         f"choose the AnimateAnyone {expected_kind} file for this input")
    return reader


class _Loader:
    def __init__(self, config: AnimateAnyoneConfig, policy: DtypePolicy, device: torch.device | str) -> None:
        self.config, self.policy, self.device = config, policy, device

    def fill(self, factory: Callable[[AnimateAnyoneConfig], nn.Module], reader: CheckpointReader,
             input_name: str, name_map: Callable[[str], str] = lambda n: n) -> nn.Module:
        model = build_on_meta(lambda: factory(self.config))
        try:
            load_weights(model, reader, name_map, self.policy, self.device, input_name)
        finally:
            reader.close()
        return model.to(self.device)  # buffers that are not in the file were built on the CPU

    def plain(self, path: Path, factory: Callable[[AnimateAnyoneConfig], nn.Module], input_name: str, kind: str,
              name_map: Callable[[str], str] = lambda n: n, drop: tuple[str, ...] = ()) -> nn.Module:
        reader = _open(path, input_name, kind)
        if drop:
            reader = renamed({k: (reader, k) for k in reader.keys() if k not in drop}, Path(path))  # noqa: SIM118
        return self.fill(factory, reader, input_name, name_map)

    def denoising_unet(self, unet_reader: CheckpointReader, motion_path: Path) -> nn.Module:
        """Spatial weights from the stage-1 file plus motion modules from the stage-2 file, as one checkpoint."""
        motion_reader = _open(motion_path, "motion_module", "motion module")
        sources = {k: (unet_reader, k) for k in unet_reader.keys() if not keys.is_motion_key(k)}  # noqa: SIM118
        sources.update(_motion_sources(motion_reader))
        return self.fill(networks.build_denoising_unet, renamed(sources, Path(motion_path)), "denoising_unet")


def _motion_sources(reader: CheckpointReader) -> dict[str, tuple[CheckpointReader, str]]:
    """Motion-module keys under diffusers names; checks that skipped duplicate position tables are duplicates."""
    names = reader.keys()
    if not keys.is_old_motion_layout(names):
        return {k: (reader, k) for k in names}
    sources = {}
    for name in names:
        new = keys.motion_to_diffusers(name)
        if new is None:
            first = keys.duplicate_of(name)
            if first not in reader or not torch.equal(reader.load(name), reader.load(first)):
                raise InputError("motion_module", f"'{reader.name}': {name} is not a copy of {first}",
                                 "use an AnimateDiff/Moore motion module with standard sinusoidal positions")
            continue
        sources[new] = (reader, name)
    return sources


def new_models(config: AnimateAnyoneConfig, dtype: torch.dtype = torch.float32,
               device: torch.device | str = "cpu") -> AnimateAnyoneModels:
    """Freshly initialised networks (the starting point for training from scratch, and for tiny tests)."""
    built = [factory(config).to(device, dtype).eval() for factory in (
        networks.build_reference_unet, networks.build_denoising_unet, networks.build_pose_guider,
        networks.build_pose_guider, networks.build_vae, networks.build_image_encoder)]
    return assemble(config, *built, dtype, device)
