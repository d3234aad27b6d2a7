"""The ReferenceNet (AnimateAnyone / EverybodyDance) sampler: its cost beyond the UNet forwards it must make, and
whether memory stays flat as the clip grows.

Overhead: the sampler against the bare denoising-UNet forwards it makes (same windows, steps and branches, the
reference bank read in the conditional branch, a fixed pose feature added after ``conv_in``), interleaved, one
thread, judged on CPU time only when every repeat agrees. Everything else the sampler does (pose guider, window
blending, solver, guidance) is the overhead. Memory: peak of a whole sampling run per clip length, each in a
fresh process (CUDA: allocator peak; CPU: max RSS), with context windows bounding what one network call sees.
Random weights: cost does not depend on their values.

Run: ``python -m choreograph.benchmarks.referencenet_sampler [--config tiny --frames 12 --steps 2]``.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass

import torch

from ..core.models.animate_anyone.config import SD15, TINY, AnimateAnyoneConfig
from ..core.models.animate_anyone.loader import new_models
from ..core.sampling.animate_anyone import added_after_conv_in, encode_reference, sample_video
from ..core.sampling.context_windows import ContextSchedule, context_windows
from ..core.sampling.ddim import DdimSettings
from .timing import CPU, WALL, Comparison, compare, cuda_sync, in_fresh_process, max_rss, mib, one_thread

CONFIGS = {"tiny": TINY, "sd15": SD15}
OVERHEAD_LIMIT = 1.05
MEMORY_FRAMES = (8, 16, 32, 64)


@dataclass(frozen=True)
class MemoryBench:
    """One benchmark setting: network size, pixel size, steps, window, device and dtype."""

    config: str = "tiny"
    height: int = 64
    width: int = 64
    steps: int = 1
    context_frames: int = 8
    context_overlap: int = 2
    device: str = "cpu"
    dtype: str = "float32"
    guidance: float = 3.5

    def settings(self) -> DdimSettings:
        return DdimSettings(self.steps, self.guidance, 0)

    def schedule(self) -> ContextSchedule:
        return ContextSchedule(self.context_frames, self.context_overlap)


def _setup(bench: MemoryBench, frames: int):
    torch.manual_seed(0)
    config: AnimateAnyoneConfig = CONFIGS[bench.config]
    models = new_models(config, getattr(torch, bench.dtype), bench.device)
    reference = encode_reference(models, torch.rand(bench.height, bench.width, 3),
                                 torch.rand(bench.height, bench.width, 3))
    return models, reference, torch.rand(frames, bench.height, bench.width, 3)


def unet_calls(bench: MemoryBench, frames: int) -> list[tuple[list[int], bool]]:
    """(window, conditional branch?) of every denoising-UNet call one sampling run makes."""
    branches = (True,) if bench.guidance == 1.0 else (True, False)
    return [(window, positive) for step in range(bench.steps)
            for window in context_windows(frames, step, bench.schedule()) for positive in branches]


def sampler_overhead(bench: MemoryBench = MemoryBench(), frames: int = 12, repeats: int = 5) -> Comparison:
    """The sampler against the bare UNet forwards it makes, interleaved in one process."""
    one_thread()
    models, reference, poses = _setup(bench, frames)
    calls = unet_calls(bench, frames)
    scale = models.config.vae_downscale
    latent = torch.randn(1, 4, frames, bench.height // scale, bench.width // scale, device=models.device,
                         dtype=models.dtype)
    with torch.no_grad():
        feature = models.pose_guider(poses[:1].permute(0, 3, 1, 2).to(models.device, models.dtype))
    bank = reference.bank.to(models.device, models.dtype)
    embeds = reference.image_embeds.to(models.device, models.dtype)
    timestep = torch.tensor([500], device=models.device)

    @torch.no_grad()
    def bare() -> None:
        for window, positive in calls:
            context = (embeds if positive else torch.zeros_like(embeds)).repeat_interleave(len(window), 0)
            features = feature.expand(len(window), *feature.shape[1:])
            with added_after_conv_in(models.denoising_unet, features), \
                    models.reader.reading(bank if positive else None):
                models.denoising_unet(latent[:, :, window], timestep, encoder_hidden_states=context)

    def sampler() -> None:
        sample_video(models, reference, poses, bench.settings(), bench.schedule())

    cuda = bench.device.startswith("cuda")
    return compare(("bare UNet forwards", bare), ("sampler", sampler), repeats=repeats,
                   sync=cuda_sync(bench.device), clock=WALL if cuda else CPU)


def _peak(bench: MemoryBench, frames: int) -> int:
    one_thread()
    models, reference, poses = _setup(bench, frames)
    if bench.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    sample_video(models, reference, poses, bench.settings(), bench.schedule())
    return torch.cuda.max_memory_allocated() if bench.device.startswith("cuda") else max_rss()


def memory_vs_frames(bench: MemoryBench = MemoryBench(), frames: tuple[int, ...] = MEMORY_FRAMES) -> dict[int, int]:
    """Peak bytes of a sampling run per clip length, each in a fresh process."""
    return {count: in_fresh_process(_peak, bench, count) for count in frames}


def long_video_memory(bench: MemoryBench = MemoryBench(), short: int = 8, long: int = 32) -> dict:
    """Peak bytes for ``short`` and ``long`` frames, each in a fresh process, and their ratio."""
    peaks = memory_vs_frames(bench, (short, long))
    return {"peak_short": peaks[short], "peak_long": peaks[long], "ratio": peaks[long] / peaks[short]}


def memory_report(peaks: dict[int, int], bench: MemoryBench) -> str:
    first = min(peaks)
    lines = [f"peak memory, context windows of {bench.context_frames} frames (overlap {bench.context_overlap}):"]
    lines += [f"  {count:>4} frames  {mib(peak):>12}  ({peak / peaks[first]:.2f}x the {first}-frame run)"
              for count, peak in sorted(peaks.items())]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=sorted(CONFIGS), default="tiny")
    parser.add_argument("--size", type=int, nargs=2, default=(64, 64), metavar=("H", "W"))
    parser.add_argument("--frames", type=int, default=12, help="clip length for the overhead timing")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--memory-frames", type=int, nargs="*", default=list(MEMORY_FRAMES),
                        help="clip lengths for the memory runs (none: skip them)")
    args = parser.parse_args(argv)
    bench = MemoryBench(args.config, args.size[0], args.size[1], args.steps, device=args.device, dtype=args.dtype)
    timing = sampler_overhead(bench, args.frames, args.repeats)
    print(f"{len(unet_calls(bench, args.frames))} UNet calls per run ({args.frames} frames, {args.steps} steps, "
          f"windows of {bench.context_frames})")
    print(timing.report("sampler / bare UNet forwards", OVERHEAD_LIMIT))
    if args.memory_frames:
        memory_bench = MemoryBench(args.config, args.size[0], args.size[1], 1, device=args.device,
                                   dtype=args.dtype)
        print(memory_report(memory_vs_frames(memory_bench, tuple(args.memory_frames)), memory_bench))
    return 0


if __name__ == "__main__":  # memory runs spawn fresh processes, which re-import this module
    raise SystemExit(main())
