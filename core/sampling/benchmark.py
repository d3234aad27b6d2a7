"""How much the SCAIL-2 sampler costs beyond the network itself, and whether long videos stay flat in memory.

Two numbers the issue sets targets for: sampler time over the bare transformer forwards it must make anyway
(same config, same number of calls; target ≤ 5 %), and peak memory of a 64-frame video against a 16-frame one
when both run as history-continued segments (target ≤ 1.1×). Random weights are enough: cost does not depend on
their values. Peak memory is measured in a fresh process per run (CUDA: allocator peak; CPU: max RSS).
"""
from __future__ import annotations

import multiprocessing
import resource
import time
from dataclasses import dataclass

import torch

from ..models.scail2 import Scail2Context
from ..models.wan_arch import SCAIL2, WanArch
from ..models.wan_loader import build_wan
from .scail2 import Scail2Video, generate_scail2, sample_scail2
from .solvers import FlowSettings
from .wan_prompt import WanPrompt


@dataclass(frozen=True)
class BenchConfig:
    """Network and video size of a benchmark run (defaults: small enough for a CPU, big enough to time)."""

    dim: int = 256
    layers: int = 2
    height: int = 128
    width: int = 128
    steps: int = 4
    guidance: float = 5.0
    solver: str = "unipc"
    device: str = "cpu"


def _model(cfg: BenchConfig) -> torch.nn.Module:
    arch = WanArch(variant=SCAIL2, dim=cfg.dim, in_channels=20, out_channels=16, num_layers=cfg.layers,
                   ffn_dim=2 * cfg.dim, text_dim=64, freq_dim=64, patch_size=(1, 2, 2), cross_attn_norm=True,
                   image_dim=64, pos_embed_seq_len=None, mask_channels=28)
    torch.manual_seed(0)
    return build_wan(arch).eval().to(cfg.device)


def _prompt() -> WanPrompt:
    return WanPrompt(torch.randn(1, 16, 64), torch.zeros(1, 4, 64), torch.randn(1, 257, 64))


def _context(cfg: BenchConfig, latent_frames: int) -> Scail2Context:
    h, w = cfg.height // 8, cfg.width // 8
    return Scail2Context(reference=torch.randn(1, 16, 1, h, w), reference_mask=torch.rand(1, 28, 1, h, w),
                         driving=torch.randn(1, 16, latent_frames, h // 2, w // 2),
                         driving_mask=torch.rand(1, 28, latent_frames, h // 2, w // 2)).to(cfg.device)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def sampler_overhead(cfg: BenchConfig = BenchConfig(), latent_frames: int = 5, repeats: int = 5) -> dict:
    """Fastest seconds of the sampler and of the bare forwards it makes, and the relative overhead."""
    model, prompt, ctx = _model(cfg), _prompt(), _context(cfg, latent_frames)
    settings = FlowSettings(cfg.steps, 5.0, cfg.guidance, cfg.solver, 0)
    calls = cfg.steps * (1 if cfg.guidance == 1.0 else 2)
    x = torch.randn(1, 16, latent_frames, cfg.height // 8, cfg.width // 8, device=cfg.device)
    text = prompt.text(True, x.device, x.dtype)
    image = prompt.image_tokens(x.device, x.dtype)

    def bare() -> None:
        with torch.no_grad():
            for _ in range(calls):
                model(x, torch.tensor([500.0], device=cfg.device), text, image, context=ctx)

    def sampler() -> None:
        sample_scail2(model, ctx, prompt, settings)

    bare(), sampler()  # warm-up
    samples: dict[str, list[float]] = {"bare": [], "sampler": []}
    for _ in range(repeats):  # interleaved, and the fastest run of each: other load only ever adds time
        for name, fn in (("bare", bare), ("sampler", sampler)):
            samples[name].append(_timed(fn, cfg.device))
    times = {name: min(values) for name, values in samples.items()}
    return {**times, "forward_calls": calls, "overhead": times["sampler"] / times["bare"] - 1.0}


def _timed(fn, device: str) -> float:
    _sync(device)
    start = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - start


def _long_video_peak(cfg: BenchConfig, frames: int, segment: int, queue) -> None:
    from diffusers import AutoencoderKLWan

    from ..models.wan_vae import WanVideoCodec

    torch.manual_seed(0)
    codec = WanVideoCodec(AutoencoderKLWan(base_dim=8, dim_mult=[1, 2, 2, 2], num_res_blocks=1).eval()
                          .to(cfg.device))
    video = Scail2Video(torch.rand(cfg.height, cfg.width, 3), torch.rand(frames, cfg.height, cfg.width, 3),
                        torch.ones(cfg.height, cfg.width, 3), torch.zeros(frames, cfg.height, cfg.width, 3))
    model = _model(cfg)
    cuda = cfg.device.startswith("cuda")
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated() if cuda else _max_rss()
    generate_scail2(model, codec, video, _prompt(), FlowSettings(1, 5.0, cfg.guidance, cfg.solver, 0),
                    segment=segment, history=5)
    queue.put((before, torch.cuda.max_memory_allocated() if cuda else _max_rss()))


def _max_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def long_video_memory(cfg: BenchConfig = BenchConfig(), short: int = 16, long: int = 64, segment: int = 17
                      ) -> dict:
    """Peak bytes for ``short`` and ``long`` frames, each run in a fresh process, and their ratios.

    ``ratio`` compares whole-process peaks (on a CPU these include the O(frames) input and output videos);
    ``generation_ratio`` compares only what generating added above the loaded model and inputs.
    """
    ctx = multiprocessing.get_context("spawn")
    peaks = {}
    for frames in (short, long):
        queue = ctx.Queue()
        process = ctx.Process(target=_long_video_peak, args=(cfg, frames, segment, queue))
        process.start()
        peaks[frames] = queue.get()
        process.join()
    (base_s, peak_s), (base_l, peak_l) = peaks[short], peaks[long]
    return {"peak_short": peak_s, "peak_long": peak_l, "ratio": peak_l / peak_s,
            "generation_ratio": (peak_l - base_l) / max(peak_s - base_s, 1)}
