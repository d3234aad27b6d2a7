"""The training configuration: a YAML file read with ``yaml.safe_load`` into validated frozen dataclasses.

Every section and key is checked before anything heavy happens — unknown keys (typos), wrong types, missing
files, impossible sizes — and reported as ``InputError`` naming the key, so a bad config fails in a second, not
after an hour of data preparation. Relative paths are relative to the config file.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

import yaml

from ..core.errors import InputError

BACKBONES = ("scail2", "everybody_dance", "dance_together", "dreamactor_m2")
METHODS = ("full", "lora", "dpo")
PRECISIONS = ("no", "fp16", "bf16")
IMG_DEFAULT_WEIGHT = 0.1


@dataclass(frozen=True)
class ArchConfig:
    """Sizes of a transformer built from scratch (no checkpoint): a tiny SCAIL-2 for tests and demos."""

    dim: int = 64
    num_layers: int = 2
    ffn_dim: int = 128
    head_dim: int = 32
    text_dim: int = 32
    freq_dim: int = 32
    image_dim: int | None = None


@dataclass(frozen=True)
class ModelConfig:
    backbone: str = "scail2"
    checkpoint: str | None = None  # scail2: safetensors file or diffusers folder; everybody_dance: release folder
    arch: ArchConfig = field(default_factory=ArchConfig)  # scail2 built from scratch when no checkpoint
    animate_anyone: dict | None = None  # everybody_dance from scratch: AnimateAnyoneConfig fields
    dance_together: dict | None = None  # dance_together: {unet, pose_net, face_encoder, svd_folder} paths, or
    #                                     {sizes: {...}} for fresh networks (tiny CPU runs; training/README.md)
    vae: str = "pixel"  # "pixel" (weight-free codec) or a Wan2.1 VAE file
    clip_vision: str | None = None  # clip_vision_h.safetensors: CLIP tokens of the reference (as at inference)
    gradient_checkpointing: bool = False
    # everybody_dance / dance_together: the parts to train, the rest frozen (None: the backbone's default; see
    # training/README.md, e.g. [motion_modules] for EverybodyDance stage 2, [adapter] for MaskPose only)
    trainable: tuple[str, ...] | None = None


@dataclass(frozen=True)
class SyntheticConfig:
    """Write ``clips`` synthetic scenes into ``data.root`` before training (kept if already there).

    ``choreography`` is one combination (``dance+swap``) or ``mix``; ``background`` is plain, textured or mix."""

    clips: int = 4
    characters: int = 2
    frames: int = 17
    width: int = 64
    height: int = 64
    choreography: str = "dance+swap"
    background: str = "plain"
    seed: int = 0
    pairs: bool = False  # reverse-driving triplets (core.synth.pairs): cast A drives, cast B is the target
    replacement_probability: float = 0.25  # pairs: share of replacement-mode triplets (SCAIL-2: 3:1)
    same_bodies: bool = True  # pairs: cast A has cast B's bodies (identical poses)
    preferences: bool = False  # Bias-Aware DPO pairs (core.synth.preferences): ``clips`` items, renderer as generator


@dataclass(frozen=True)
class StreamConfig:
    """Synthetic scenes generated on the fly, a new cast for every sample (``training/synthetic_stream.py``).

    No clips are read: each sample renders a fresh ``scene_frames``-frame scene at ``data.width × data.height``
    with one of ``choreographies``, a textured background with ``textured_probability`` (else plain), a lookalike
    pair with ``lookalike_probability``, a speed in ``speed``; the reference is the scene's neutral reference
    image with ``scene_reference_probability``, else a frame of the clip. Curriculum = stage configs."""

    characters: int = 2
    scene_frames: int = 32
    fps: float = 16.0
    choreographies: tuple[str, ...] = ("dance+swap",)
    textured_probability: float = 0.0
    lookalike_probability: float = 0.0
    speed: tuple[float, ...] = (0.8, 1.25)
    scene_reference_probability: float = 0.5
    reverse_driving_probability: float = 0.0  # skeleton of another cast with other bodies (core.synth.pairs)


@dataclass(frozen=True)
class DataConfig:
    root: str = "clips"
    synthetic: SyntheticConfig | None = None
    stream: StreamConfig | None = None  # scail2: on-the-fly scenes instead of clips in root
    frames: int = 5  # per sample, 4k+1
    width: int = 64
    height: int = 64
    swap_probability: float = 0.5
    sample_margin: int = 30
    permute_slots: bool = True
    bone_scaling_probability: float = 0.3
    lead_in_frames: int = 16  # dreamactor_m2: driving zeroed for the first second (SPEC §4.1) when frames exceed it
    workers: int = 2  # batch-building processes (0: one loader thread); see training/batch_loader.py
    text_embeddings: str | None = None  # safetensors {positive, empty}: umT5 prompt embeddings (training.prompts)
    text_dropout: float = 0.1  # chance a sample gets the empty prompt instead of its prompt
    replacement_probability: float = 0.25  # scail2: share of batches from replacement triplets (SCAIL-2 3:1)
    rgb_driving_probability: float = 1.0  # scail2: animation triplets driven by the RGB video, else the skeleton
    driving_crop_probability: float = 0.3  # scail2: crop + stretch augmentation of RGB driving (animation)
    reference_dropout: float = 0.0  # scail2: chance a sample's reference (image + slot mask) is blanked
    box_normalisation: bool = True  # dreamactor_m2: driving poses mapped into the reference person's box (§4.2)
    box_jitter: float = 0.1  # dreamactor_m2: ± scale jitter of that box
    driving: str = "skeleton"  # dreamactor_m2: skeleton (stage 1) | rgb (stage 2: the RGB driving video, end to end)


@dataclass(frozen=True)
class TrainConfig:
    method: str = "lora"  # lora | full | dpo (scail2 LoRA against the frozen base on preference pairs)
    steps: int = 100
    batch_size: int = 1
    learning_rate: float = 1e-4
    weight_decay: float = 0.01
    warmup_steps: int = 0
    decay_start: int | None = None  # from this step the rate falls linearly to decay_final × itself at `steps`
    decay_final: float = 0.1
    grad_clip: float = 1.0
    mixed_precision: str = "no"
    checkpoint_every: int = 50
    keep_checkpoints: int = 2
    log_every: int = 1
    export_merged: bool = False  # LoRA runs: also write the merged full model
    distributed: str = "ddp"  # ddp | fsdp (FSDP-2: weights, gradients, optimizer state sharded; training.distributed)
    fsdp_reshard_after_forward: bool = True  # free gathered weights after each block's forward (ZeRO-3-like)
    fsdp_cpu_offload: bool = False  # keep sharded weights and optimizer state in CPU memory


@dataclass(frozen=True)
class LoraConfig:
    rank: int = 4
    alpha: float = 4.0
    targets: tuple[str, ...] = ("ffn.0", "ffn.2")  # original Wan names inside blocks.N (or diffusers names)


@dataclass(frozen=True)
class FlowLossConfig:
    history_probability: float = 0.5  # chance of 2 clean history frames (SPEC §3.4)
    low_noise_probability: float = 0.0  # chance σ is drawn uniformly from (0, low_noise_max) instead (tiny latents)
    low_noise_max: float = 0.3
    history_noise: float = 0.0  # clean history latents get noise σ_h ~ U(0, history_noise) (segment-chaining drift)
    person_weight: float = 0.0  # extra weight of the flow error on people: W = 1 + person_weight·(person mask)


@dataclass(frozen=True)
class DiffusionLossConfig:
    """everybody_dance: v-prediction with min-SNR weights, offset noise and reference dropout (SPEC §1.4)."""

    min_snr_gamma: float = 5.0
    noise_offset: float = 0.05
    reference_dropout: float = 0.1


@dataclass(frozen=True)
class DpoLossConfig:
    """scail2 with train.method dpo: Bias-Aware DPO (SPEC §3.5 table)."""

    beta: float = 1000.0
    sft_weight: float = 1.0
    hand_pad_px: float = 1.5  # hand boxes grow by this many clip pixels (a drawn hand reaches past its points)
    hand_min_score: float = 0.3  # hand points below this confidence do not shape the boxes


@dataclass(frozen=True)
class ImgLossConfig:
    weight: float | None = None  # λ of SPEC §1.4; 0 disables; unset: 0.1 for everybody_dance, 0 otherwise
    blocks: tuple[int, ...] | None = None  # scail2: transformer blocks; None = 3 evenly spaced ending with the last
    matching_layers: int = 3  # everybody_dance: UNet levels from the mid block up (SPEC §1.3)
    variant: str = "linear"
    mask_resize: str = "nearest"  # scail2: masks → token grid, "nearest" (SPEC §1.2) or "area" (soft coverage)


@dataclass(frozen=True)
class LossConfig:
    flow: FlowLossConfig = field(default_factory=FlowLossConfig)
    diffusion: DiffusionLossConfig = field(default_factory=DiffusionLossConfig)
    dpo: DpoLossConfig = field(default_factory=DpoLossConfig)
    img: ImgLossConfig = field(default_factory=ImgLossConfig)


@dataclass(frozen=True)
class Config:
    output_dir: str = "runs/train"
    seed: int = 0
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    lora: LoraConfig = field(default_factory=LoraConfig)
    losses: LossConfig = field(default_factory=LossConfig)

    def __post_init__(self) -> None:
        """IMG is EverybodyDance's loss (λ 0.1); SCAIL-2 and DreamActor-M2 were trained without it: an optional
        extra here, off unless ``losses.img.weight`` is set."""
        img = self.losses.img
        if img.weight is None:
            weight = IMG_DEFAULT_WEIGHT if self.model.backbone == "everybody_dance" else 0.0
            losses = dataclasses.replace(self.losses, img=dataclasses.replace(img, weight=weight))
            object.__setattr__(self, "losses", losses)


def _convert(value: Any, hint: Any, where: str) -> Any:
    """``value`` as type ``hint`` (dataclass, tuple, optional, int/float/bool/str) or ``InputError``."""
    args = getattr(hint, "__args__", ())
    if type(None) in args:
        if value is None:
            return None
        hint = next(a for a in args if a is not type(None))
        args = getattr(hint, "__args__", ())
    if dataclasses.is_dataclass(hint):
        return _section(hint, value, where)
    if getattr(hint, "__origin__", None) is tuple:
        if not isinstance(value, (list, tuple)):
            raise InputError("config", f"{where} must be a list, not {value!r}", f"write {where}: [ ... ]")
        return tuple(_convert(v, args[0], f"{where}[]") for v in value)
    if hint is dict:
        if not isinstance(value, dict):
            raise InputError("config", f"{where} must be a mapping, not {value!r}", f"write {where}: {{key: value}}")
        return dict(value)
    if hint is bool and not isinstance(value, bool):
        raise InputError("config", f"{where} must be true or false, not {value!r}", f"set {where}: true or false")
    if hint is float and isinstance(value, str):  # YAML 1.1 reads "1e-4" (no dot) as text
        try:
            value = float(value)
        except ValueError:
            pass
    if hint in (int, float) and (isinstance(value, bool) or not isinstance(value, (int, float))
                                 or (hint is int and not float(value).is_integer())):
        raise InputError("config", f"{where} must be a{'n integer' if hint is int else ' number'}, not {value!r}",
                         f"fix {where}")
    if hint is str and not isinstance(value, str):
        raise InputError("config", f"{where} must be text, not {value!r}", f"quote {where}")
    return hint(value)


def _section(cls: type, values: Any, where: str) -> Any:
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise InputError("config", f"{where or 'the file'} must be a mapping of keys, not {values!r}",
                         "see training/configs/ for examples")
    hints = get_type_hints(cls)
    unknown = sorted(set(values) - set(hints))
    if unknown:
        name = f"{where}.{unknown[0]}" if where else unknown[0]
        raise InputError("config", f"unknown key '{name}'", f"valid keys{' of ' + where if where else ''}: "
                         f"{', '.join(hints)}")
    return cls(**{k: _convert(v, hints[k], f"{where}.{k}" if where else k) for k, v in values.items()})


def _choice(value: str, options: tuple[str, ...], where: str) -> None:
    if value not in options:
        raise InputError("config", f"{where} is '{value}'", f"choose one of {', '.join(options)}")


def _positive(where: str, value: float) -> None:
    if value <= 0:
        raise InputError("config", f"{where} must be positive, not {value}", f"set {where} above 0")


def validate(config: Config) -> Config:
    """Reject values that cannot train (missing files, sizes the backbone cannot take, bad options)."""
    m, d, t = config.model, config.data, config.train
    _choice(m.backbone, BACKBONES, "model.backbone")
    _choice(t.method, METHODS, "train.method")
    _choice(t.mixed_precision, PRECISIONS, "train.mixed_precision")
    _choice(t.distributed, ("ddp", "fsdp"), "train.distributed")
    _choice(config.losses.img.variant, ("linear", "log"), "losses.img.variant")
    _choice(config.losses.img.mask_resize, ("nearest", "area"), "losses.img.mask_resize")
    for where, path in (("model.checkpoint", m.checkpoint), ("model.vae", None if m.vae == "pixel" else m.vae),
                        ("model.clip_vision", m.clip_vision), ("data.text_embeddings", d.text_embeddings)):
        if path is not None and not Path(path).exists():
            raise InputError("config", f"{where} '{path}' does not exist", f"fix the path or remove {where}")
    if d.frames < 1 or (d.frames - 1) % 4:
        raise InputError("config", f"data.frames is {d.frames}", "use 4k+1 frames (5, 9, 17, …, 81)")
    if d.width % 32 or d.height % 32 or d.width <= 0 or d.height <= 0:
        raise InputError("config", f"data.width × data.height is {d.width}×{d.height}",
                         "use positive multiples of 32 (the Wan latent patch grid)")
    for where, value in (("train.steps", t.steps), ("train.batch_size", t.batch_size),
                         ("train.learning_rate", t.learning_rate), ("train.checkpoint_every", t.checkpoint_every),
                         ("train.log_every", t.log_every), ("lora.rank", config.lora.rank),
                         ("lora.alpha", config.lora.alpha)):
        _positive(where, value)
    arch = m.arch
    for name in ("dim", "num_layers", "ffn_dim", "head_dim", "text_dim", "freq_dim"):
        _positive(f"model.arch.{name}", getattr(arch, name))
    if arch.dim % arch.head_dim:
        raise InputError("config", f"model.arch.dim {arch.dim} is not a multiple of model.arch.head_dim "
                         f"{arch.head_dim}", "choose a width that is a whole number of heads")
    if d.workers < 0:
        raise InputError("config", f"data.workers is {d.workers}", "use 0 (a loader thread) or more processes")
    _choice(d.driving, ("skeleton", "rgb"), "data.driving")
    if d.synthetic is not None and d.synthetic.pairs and d.synthetic.preferences:
        raise InputError("config", "data.synthetic asks for both pairs and preferences", "choose one")
    probabilities = (d.swap_probability, d.bone_scaling_probability, d.text_dropout, d.replacement_probability,
                     d.rgb_driving_probability, d.driving_crop_probability, d.reference_dropout)
    if not all(0 <= p <= 1 for p in probabilities):
        raise InputError("config", "a probability in data is outside 0..1", "use values between 0 and 1")
    if d.stream is not None:
        _check_stream(d.stream, m.backbone, t.method)
    flow = config.losses.flow
    if not 0 <= flow.low_noise_probability <= 1 or not 0 < flow.low_noise_max <= 1:
        raise InputError("config", "losses.flow.low_noise_probability / low_noise_max are outside 0..1",
                         "use a probability in 0..1 and a σ bound in (0, 1]")
    train = config.train
    if train.decay_start is not None and not (0 <= train.decay_start < train.steps and 0 <= train.decay_final <= 1):
        raise InputError("config", f"train.decay_start={train.decay_start} / decay_final={train.decay_final} "
                         f"do not fit train.steps={train.steps}",
                         "start the decay before train.steps and give decay_final as a fraction in 0..1")
    if not 0 <= flow.history_noise < 1:
        raise InputError("config", f"losses.flow.history_noise is {flow.history_noise}",
                         "use 0 (clean history) or a small noise level below 1, e.g. 0.1")
    if not 0 <= flow.person_weight < 1000:
        raise InputError("config", f"losses.flow.person_weight is {flow.person_weight}",
                         "use 0 (plain SCAIL-2 loss) or a positive up-weighting of people, e.g. 4")
    return config


def _check_stream(stream: StreamConfig, backbone: str, method: str) -> None:
    """On-the-fly scenes: only SCAIL-2 full / LoRA training reads them; they must be able to make scenes."""
    if backbone != "scail2" or method == "dpo":
        raise InputError("config", f"data.stream is set for backbone '{backbone}' with method '{method}'",
                         "use data.stream with model.backbone: scail2 (full or lora), or write clips with "
                         "data.synthetic")
    probabilities = (stream.textured_probability, stream.lookalike_probability, stream.scene_reference_probability,
                     stream.reverse_driving_probability)
    if not all(0 <= p <= 1 for p in probabilities):
        raise InputError("config", "a probability in data.stream is outside 0..1", "use values between 0 and 1")
    if len(stream.speed) != 2 or not 0 < stream.speed[0] <= stream.speed[1]:
        raise InputError("config", f"data.stream.speed is {list(stream.speed)}",
                         "give [low, high] with 0 < low <= high")
    if not stream.choreographies:
        raise InputError("config", "data.stream.choreographies is empty", "list at least one, e.g. [dance+swap]")


def _resolve(path: str | None, base: Path) -> str | None:
    if path is None or path == "pixel":
        return path
    p = Path(path).expanduser()
    return str(p if p.is_absolute() else (base / p).resolve())


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> Config:
    """Read, type-check and validate a YAML config; relative paths are taken from the config's folder."""
    path = Path(path)
    if not path.is_file():
        raise InputError("config", f"'{path}' does not exist", "pass the path of a YAML training config")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError:
        raise InputError("config", f"'{path}' is not UTF-8 text", "save the YAML config as UTF-8") from None
    except yaml.YAMLError as exc:
        raise InputError("config", f"'{path}' is not valid YAML ({exc})", "fix the YAML syntax") from exc
    config = _section(Config, raw, "")
    if overrides:
        config = _section(Config, _merge(dataclasses.asdict(config), overrides), "")
    base = path.parent.resolve()
    parts = config.model.dance_together
    model = dataclasses.replace(config.model, checkpoint=_resolve(config.model.checkpoint, base),
                                vae=_resolve(config.model.vae, base),
                                clip_vision=_resolve(config.model.clip_vision, base),
                                dance_together=None if parts is None else {
                                    k: _resolve(v, base) if isinstance(v, str) else v  # files; sizes stay
                                    for k, v in parts.items()})
    data = dataclasses.replace(config.data, root=_resolve(config.data.root, base),
                               text_embeddings=_resolve(config.data.text_embeddings, base))
    config = dataclasses.replace(config, model=model, data=data, output_dir=_resolve(config.output_dir, base))
    return validate(config)


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def trainable_parts(config: Config, allowed: tuple[str, ...], default: tuple[str, ...], backbone: str,
                    hint: str) -> tuple[str, ...]:
    """``model.trainable`` checked against a backbone's ``allowed`` parts (``default`` when unset)."""
    parts = config.model.trainable or default
    unknown = sorted(set(parts) - set(allowed))
    if unknown or not parts:
        raise InputError("model.trainable", f"{unknown or 'nothing'} is not a trainable {backbone} part",
                         f"choose from {', '.join(allowed)} ({hint})")
    return tuple(parts)
