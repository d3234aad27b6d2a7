"""Which training objective a config's backbone uses. Each is an ``nn.Module`` with ``make_batch(clips, rng)``,
``forward(batch, generator) -> {"loss": …, …}``, ``export(out) -> [paths]`` and ``close()``."""
from __future__ import annotations

import torch
from torch import nn

from .config import Config
from .dataset import Clip


def build_objective(config: Config, device: torch.device, clips: list[Clip]) -> nn.Module:
    """The objective for ``config``; it may check ``clips`` against what it needs (e.g. preference pairs)."""
    if config.model.backbone == "everybody_dance":
        from .ed_objective import EverybodyDanceObjective

        return EverybodyDanceObjective(config, device)
    if config.model.backbone == "dance_together":
        from .dt_objective import DanceTogetherObjective

        return DanceTogetherObjective(config, device)
    if config.model.backbone == "dreamactor_m2":
        from .dreamactor_objective import DreamActorObjective

        return DreamActorObjective(config, device)
    if config.train.method == "dpo":
        from .scail2_dpo import Scail2DpoObjective

        return Scail2DpoObjective(config, device, clips)
    from .scail2_objective import Scail2Objective

    return Scail2Objective(config, device)
