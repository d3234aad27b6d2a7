"""How much the SCAIL-2 sampler costs beyond the network itself, and whether long videos stay flat in memory.

Two numbers the issue sets targets for: sampler time over the bare transformer forwards it must make anyway
(same config, same number of calls; target ≤ 5 %), and peak memory of a 65-frame video against a 17-frame one
when both run as history-continued segments (target ≤ 1.1×). Random weights are enough: cost does not depend on
their values. Peak memory is measured in a fresh process per run (CUDA: allocator peak; CPU: max RSS).

Timing follows ``timing.py``: bare forwards and the sampler run interleaved in one process, one thread, and the
overhead is judged on CPU time (wall time with synchronisation on CUDA) only when every repeat agrees.

Run: ``python -m choreograph.benchmarks.wan_sampler`` (or ``python -m choreograph wan_bench [--dim 256 ...]``).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..core.models.scail2 import Scail2Context
from ..core.models.wan_arch import SCAIL2, WanArch
from ..core.models.wan_loader import build_wan
from ..core.sampling.scail2 import Scail2Video, generate_scail2, sample_scail2
from ..core.sampling.solvers import FlowSettings
from ..core.sampling.wan_prompt import WanPrompt
from .timing import CPU, WALL, Comparison, compare, cuda_sync, in_fresh_process, max_rss, one_thread


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
    head_dim: int = 128
    text_dim: int = 64
    image_tokens: bool = True  # CLIP image tokens and the image cross-attention branch


# The shipped demo model's network (training/configs/demo_scail2.yaml) at its 64² size, cfg 1, no CLIP branch.
DEMO = BenchConfig(dim=128, layers=4, height=64, width=64, steps=4, guidance=1.0, head_dim=32, text_dim=32,
                   image_tokens=False)


def _model(cfg: BenchConfig) -> torch.nn.Module:
    arch = WanArch(variant=SCAIL2, dim=cfg.dim, in_channels=20, out_channels=16, num_layers=cfg.layers,
                   ffn_dim=2 * cfg.dim, text_dim=cfg.text_dim, freq_dim=64, patch_size=(1, 2, 2),
                   cross_attn_norm=True, image_dim=64 if cfg.image_tokens else None, pos_embed_seq_len=None,
                   mask_channels=28, head_dim=cfg.head_dim)
    torch.manual_seed(0)
    return build_wan(arch).eval().to(cfg.device)


def _prompt(cfg: BenchConfig = BenchConfig()) -> WanPrompt:
    image = torch.randn(1, 257, 64) if cfg.image_tokens else None
    return WanPrompt(torch.randn(1, 16, cfg.text_dim), torch.zeros(1, 4, cfg.text_dim), image)


def _context(cfg: BenchConfig, latent_frames: int) -> Scail2Context:
    h, w = cfg.height // 8, cfg.width // 8
    return Scail2Context(reference=torch.randn(1, 16, 1, h, w), reference_mask=torch.rand(1, 28, 1, h, w),
                         driving=torch.randn(1, 16, latent_frames, h // 2, w // 2),
                         driving_mask=torch.rand(1, 28, latent_frames, h // 2, w // 2)).to(cfg.device)


OVERHEAD_LIMIT = 1.05  # sampler time ≤ 1.05 × the bare forwards


def sampler_overhead(cfg: BenchConfig = BenchConfig(), latent_frames: int = 5, repeats: int = 5) -> Comparison:
    """The sampler against the bare forwards it makes (same config, same number of calls), interleaved."""
    one_thread()
    model, prompt, ctx = _model(cfg), _prompt(cfg), _context(cfg, latent_frames)
    settings = FlowSettings(cfg.steps, 5.0, cfg.guidance, cfg.solver, 0)
    calls = forward_calls(cfg)
    x = torch.randn(1, 16, latent_frames, cfg.height // 8, cfg.width // 8, device=cfg.device)
    text = prompt.text(True, x.device, x.dtype)
    image = prompt.image_tokens(x.device, x.dtype)

    def bare() -> None:
        with torch.no_grad():
            for _ in range(calls):
                model(x, torch.tensor([500.0], device=cfg.device), text, image, context=ctx)

    def sampler() -> None:
        sample_scail2(model, ctx, prompt, settings)

    cuda = cfg.device.startswith("cuda")
    return compare(("bare forwards", bare), ("sampler", sampler), repeats=repeats, sync=cuda_sync(cfg.device),
                   clock=WALL if cuda else CPU)


def conditioning_gain(cfg: BenchConfig = DEMO, latent_frames: int = 3, repeats: int = 5) -> Comparison:
    """The sampler with conditioning embedded once per segment against embedding it in every model call
    (identical outputs; interleaved in one process)."""
    one_thread()
    model, prompt, ctx = _model(cfg), _prompt(cfg), _context(cfg, latent_frames)
    settings = FlowSettings(cfg.steps, 5.0, cfg.guidance, cfg.solver, 0)
    cuda = cfg.device.startswith("cuda")
    return compare(("embedded every call", lambda: sample_scail2(model, ctx, prompt, settings, embed_once=False)),
                   ("embedded once", lambda: sample_scail2(model, ctx, prompt, settings, embed_once=True)),
                   repeats=repeats, sync=cuda_sync(cfg.device), clock=WALL if cuda else CPU)


def forward_calls(cfg: BenchConfig) -> int:
    """Network calls one sampling run makes: one per step, two with classifier-free guidance."""
    return cfg.steps * (1 if cfg.guidance == 1.0 else 2)


def _long_video_peak(cfg: BenchConfig, frames: int, segment: int) -> tuple[int, int]:
    from diffusers import AutoencoderKLWan

    from ..core.models.wan_vae import WanVideoCodec

    one_thread()
    torch.manual_seed(0)
    codec = WanVideoCodec(AutoencoderKLWan(base_dim=8, dim_mult=[1, 2, 2, 2], num_res_blocks=1).eval()
                          .to(cfg.device))
    video = Scail2Video(torch.rand(cfg.height, cfg.width, 3), torch.rand(frames, cfg.height, cfg.width, 3),
                        torch.ones(cfg.height, cfg.width, 3), torch.zeros(frames, cfg.height, cfg.width, 3))
    model = _model(cfg)
    cuda = cfg.device.startswith("cuda")
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated() if cuda else max_rss()
    generate_scail2(model, codec, video, _prompt(cfg), FlowSettings(1, 5.0, cfg.guidance, cfg.solver, 0),
                    segment=segment, history=5)
    return before, torch.cuda.max_memory_allocated() if cuda else max_rss()


def long_video_memory(cfg: BenchConfig = BenchConfig(), short: int = 17, long: int = 65, segment: int = 17
                      ) -> dict:
    """Peak bytes for ``short`` and ``long`` frames, each run in a fresh process, and their ratios.

    ``ratio`` compares whole-process peaks (on a CPU these include the O(frames) input and output videos);
    ``generation_ratio`` compares only what generating added above the loaded model and inputs.
    """
    peaks = {frames: in_fresh_process(_long_video_peak, cfg, frames, segment) for frames in (short, long)}
    (base_s, peak_s), (base_l, peak_l) = peaks[short], peaks[long]
    return {"peak_short": peak_s, "peak_long": peak_l, "ratio": peak_l / peak_s,
            "generation_ratio": (peak_l - base_l) / max(peak_s - base_s, 1)}


def add_arguments(parser) -> None:
    """The benchmark's options (shared with ``python -m choreograph wan_bench``)."""
    parser.add_argument("--dim", type=int, default=256, help="transformer width (multiple of 128)")
    parser.add_argument("--layers", type=int, default=2, help="transformer blocks")
    parser.add_argument("--size", type=int, nargs=2, default=(128, 128), metavar=("H", "W"),
                        help="video size in pixels (multiples of 32)")
    parser.add_argument("--steps", type=int, default=4, help="sampling steps per timing run")
    parser.add_argument("--solver", choices=("unipc", "euler"), default="unipc")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved timing repeats (after a warm-up)")
    parser.add_argument("--skip-memory", action="store_true", help="only time the sampler")


def run(args) -> int:
    """Print the overhead (with spread and verdict) and, unless skipped, the long-video memory ratio."""
    import json

    cfg = BenchConfig(args.dim, args.layers, args.size[0], args.size[1], args.steps, 5.0, args.solver, args.device)
    timing = sampler_overhead(cfg, repeats=args.repeats)
    print(f"{forward_calls(cfg)} forward calls per run, dim {cfg.dim}, {cfg.layers} layers, {cfg.height}x{cfg.width}")
    print(timing.report("sampler / bare forwards", OVERHEAD_LIMIT))
    result = {"timing": {"ratio": timing.ratio, "ratios": timing.ratios, "verdict": timing.verdict(OVERHEAD_LIMIT)}}
    gain = conditioning_gain(DEMO, repeats=args.repeats)
    print(f"demo model ({DEMO.dim} wide, {DEMO.layers} blocks, {DEMO.height}x{DEMO.width}, 9 frames, "
          f"{DEMO.steps} steps): conditioning embedded once per segment vs in every call (identical outputs)")
    print(gain.report("embedded once / every call"))
    result["conditioning_once"] = {"ratio": gain.ratio, "ratios": gain.ratios}
    if not args.skip_memory:
        memory = long_video_memory(cfg)
        print(f"peak memory 17 frames {memory['peak_short'] / 2**20:.0f} MiB, 65 frames "
              f"{memory['peak_long'] / 2**20:.0f} MiB: ratio {memory['ratio']:.2f}, generation alone "
              f"{memory['generation_ratio']:.2f} (target <= 1.1)")
        result["memory"] = memory
    print(json.dumps(result))
    return 0


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":  # memory runs spawn processes, which re-import this module
    raise SystemExit(main())
