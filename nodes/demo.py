"""The shipped demo model as a node: a small SCAIL-2 trained on the synthetic world (``demo/``), ready for the
SCAIL-2 sampler with no download — its weight-free pixel codec and the empty prompt it was trained with."""
from __future__ import annotations

from pathlib import Path

import torch

from ..core.errors import InputError
from ..core.models.loading import DtypePolicy
from ..core.models.pixel_codec import PixelCodec
from ..core.models.scail2 import Scail2Transformer
from ..core.models.wan_arch import SCAIL2
from ..core.models.wan_loader import WanModels, load_wan_transformer
from ..core.sampling.wan_prompt import WanPrompt
from . import _inputs as I
from ._host import resolve_input_path
from ._types import WAN_MODELS, WAN_PROMPT

DEMO_FOLDER = Path(__file__).resolve().parents[1] / "demo"


def load_demo_models(folder: str | Path = DEMO_FOLDER, input_name: str = "model_folder") -> WanModels:
    """The demo transformer (float32, CPU) in ``folder`` (a diffusers folder) with the pixel codec it was trained
    on. Why a folder: the config carries the 32-wide heads, which a bare ComfyUI file cannot."""
    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise InputError(input_name, f"'{folder}' holds no config.json",
                         "leave it empty for the shipped demo, or give the model/ folder a training run wrote")
    loaded = load_wan_transformer(folder, DtypePolicy(torch.float32), "cpu", expect=(SCAIL2,),
                                  input_name=input_name)
    loaded.model.eval()
    return WanModels(loaded, PixelCodec())


def empty_prompt(model: Scail2Transformer) -> WanPrompt:
    """The prompt the demo was trained with: none (one zero token of the model's text width, padded later)."""
    zeros = torch.zeros(1, 1, model.config.text_dim)
    return WanPrompt(zeros, zeros)


class ChoreoDemoModelLoader:
    DESCRIPTION = ("Load Choreograph's own small SCAIL-2 demo model (shipped in the pack, trained on synthetic "
                   "scenes with swaps, occlusions and lookalikes; see demo/README.md), with its weight-free pixel "
                   "codec and empty prompt, for the SCAIL-2 sampler. Runs on a CPU in seconds; 128x128 frames.")
    CATEGORY = "Choreograph/wan"
    FUNCTION = "run"
    RETURN_TYPES = (WAN_MODELS, WAN_PROMPT, "STRING")
    RETURN_NAMES = ("wan_models", "prompt", "summary")
    OUTPUT_TOOLTIPS = ("Transformer + pixel codec for the SCAIL-2 sampler (128x128, 9-frame segments).",
                       "The empty prompt the demo model was trained with.",
                       "Sizes of the loaded model.")

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {}, "optional": {
            "model_folder": I.text("Empty: the shipped demo model. Or the model/ folder written by "
                                   "'python -m choreograph.training' for a run from training/configs/demo_*.yaml, "
                                   "inside ComfyUI's input or models folder (or demo/... of the pack)."),
        }}

    def run(self, model_folder: str = ""):
        folder = (resolve_input_path(model_folder, "model_folder", model_folder="", shipped=DEMO_FOLDER)
                  if model_folder.strip() else DEMO_FOLDER)
        models = load_demo_models(folder)
        arch = models.transformer.arch
        summary = (f"demo {arch.variant}: {arch.num_layers} blocks, dim {arch.dim}, "
                   f"{sum(p.numel() for p in models.transformer.model.parameters()) / 1e6:.2f}M parameters")
        return (models, empty_prompt(models.transformer.model), summary)


NODE_CLASS_MAPPINGS = {"ChoreoDemoModelLoader": ChoreoDemoModelLoader}
NODE_DISPLAY_NAME_MAPPINGS = {"ChoreoDemoModelLoader": "Demo Model Loader (SCAIL-2, shipped) (Choreograph)"}
