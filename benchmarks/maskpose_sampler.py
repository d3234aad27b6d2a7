"""The MaskPose (DanceTogether / StableAnimator) sampler: its cost beyond the UNet forwards it must make, and
whether memory stays flat as the video grows.

Overhead: ``generate_latents`` (CLIP and face encoding, MaskPose adapter, reference VAE encode, EDM solver,
frame-ramped guidance, tile blending) against the bare SVD-UNet forwards it makes (same tiles, steps and branches,
adapter features added in the conditional branch), interleaved, one thread, judged on CPU time only when every
repeat agrees. Memory: peak of a whole ``generate_latents`` run per video length, each in a fresh process (CUDA:
allocator peak; CPU: max RSS); 16-frame tiles bound what one UNet call sees. Random weights at small sizes: cost
and memory do not depend on the values.

Run: ``python -m choreograph.benchmarks.maskpose_sampler [--frames 20 --steps 2]``.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass

import torch

from ..core.models.stable_animator.fresh import TINY_UNET, new_dance_together
from ..core.models.stable_animator.loader import DanceTogetherModel
from ..core.models.stable_animator.unet import denoise_step
from ..core.sampling.edm import SvdSettings
from ..core.sampling.stable_animator import (
    MaskPoseVideo,
    adapter_features,
    clip_image_tokens,
    encode_reference,
    generate_latents,
)
from ..core.sampling.tiles import plan_tiles
from .timing import (
    CPU,
    WALL,
    Comparison,
    Samples,
    compare,
    cuda_sync,
    in_fresh_process,
    max_rss,
    measure,
    mib,
    one_thread,
)

OVERHEAD_LIMIT = 1.05
MEMORY_FRAMES = (16, 32, 64)
WIDTH = TINY_UNET["cross_attention_dim"]  # = CLIP projection = face-token width


@dataclass(frozen=True)
class MaskPoseBench:
    """Pixel size, people, steps, guidance (min < max: both branches every step) and device."""

    height: int = 64
    width: int = 64
    people: int = 2
    steps: int = 2
    min_guidance: float = 1.5
    max_guidance: float = 3.0
    device: str = "cpu"

    def settings(self) -> SvdSettings:
        return SvdSettings(steps=self.steps, min_guidance=self.min_guidance, max_guidance=self.max_guidance)


def random_model(bench: MaskPoseBench) -> DanceTogetherModel:
    """A small DanceTogether with random weights: the tiny fresh networks with a wider UNet (64, 128)."""
    unet = {**TINY_UNET, "block_out_channels": [64, 128]}
    parts = new_dance_together({"unet": unet, "people": bench.people})
    for module in (parts.unet, parts.adapter, parts.face_encoder, parts.vae, parts.image_encoder):
        module.to(bench.device).eval().requires_grad_(False)
    return parts


def random_video(bench: MaskPoseBench, frames: int) -> MaskPoseVideo:
    generator = torch.Generator().manual_seed(1)
    h, w, n = bench.height, bench.width, bench.people
    return MaskPoseVideo(torch.rand(h, w, 3, generator=generator), torch.rand(n, frames, h, w, 3, generator=generator),
                         (torch.rand(n, frames, h, w, generator=generator) > 0.5).float(),
                         torch.randn(n, 512, generator=generator))


def unet_calls(bench: MaskPoseBench, frames: int) -> list[tuple[tuple[int, ...], bool]]:
    """(tile, conditional branch?) of every UNet call one run makes."""
    settings = bench.settings()
    guided = not bool((settings.frame_guidance(frames) == 1.0).all())
    branches = (True, False) if guided else (True,)
    return [(tile, positive) for _ in range(bench.steps) for tile in plan_tiles(frames, settings.tile,
                                                                                settings.overlap)
            for positive in branches]


def sampler_overhead(bench: MaskPoseBench = MaskPoseBench(), frames: int = 20, repeats: int = 5) -> Comparison:
    """``generate_latents`` against the bare UNet forwards it makes, interleaved in one process."""
    one_thread()
    model, video = random_model(bench), random_video(bench, frames)
    calls = unet_calls(bench, frames)
    device = model.device
    features = adapter_features(model, video).to(device)
    h, w = bench.height // 8, bench.width // 8
    x = torch.randn(1, frames, 8, h, w, device=device)
    context = torch.randn(1, 1 + bench.people * 4, WIDTH, device=device)
    time_ids = bench.settings().time_ids().to(device)
    timestep = torch.tensor([0.5], device=device)

    @torch.no_grad()
    def bare() -> None:
        for tile, positive in calls:
            denoise_step(model.unet, x[:, list(tile)], timestep, context if positive else torch.zeros_like(context),
                         time_ids, features[list(tile)] if positive else None)

    def sampler() -> None:
        generate_latents(model, video, bench.settings())

    cuda = bench.device.startswith("cuda")
    return compare(("bare UNet forwards", bare), ("sampler", sampler), repeats=repeats,
                   sync=cuda_sync(bench.device), clock=WALL if cuda else CPU)


def preparation(bench: MaskPoseBench = MaskPoseBench(), frames: int = 20, repeats: int = 5) -> Samples:
    """The sampler's once-per-video work alone: CLIP and face tokens, MaskPose features, the reference latent."""
    one_thread()
    model, video = random_model(bench), random_video(bench, frames)
    settings = bench.settings()

    @torch.no_grad()
    def prepare() -> None:
        clip = clip_image_tokens(model.image_encoder, video.reference)
        model.face_encoder.encode_people(video.faces[None], clip)
        adapter_features(model, video)
        encode_reference(model.vae, video.reference, settings.noise_aug, settings.seed)

    return measure("once per video", prepare, repeats=repeats, sync=cuda_sync(bench.device))


def _peak(bench: MaskPoseBench, frames: int) -> int:
    one_thread()
    model, video = random_model(bench), random_video(bench, frames)
    if bench.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    generate_latents(model, video, bench.settings())
    return torch.cuda.max_memory_allocated() if bench.device.startswith("cuda") else max_rss()


def memory_vs_frames(bench: MaskPoseBench = MaskPoseBench(), frames: tuple[int, ...] = MEMORY_FRAMES
                     ) -> dict[int, int]:
    """Peak bytes of a ``generate_latents`` run per video length, each in a fresh process."""
    return {count: in_fresh_process(_peak, bench, count) for count in frames}


def memory_report(peaks: dict[int, int]) -> str:
    first = min(peaks)
    lines = ["peak memory, 16-frame tiles (overlap 4):"]
    lines += [f"  {count:>4} frames  {mib(peak):>12}  ({peak / peaks[first]:.2f}x the {first}-frame run)"
              for count, peak in sorted(peaks.items())]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, nargs=2, default=(64, 64), metavar=("H", "W"))
    parser.add_argument("--frames", type=int, default=20, help="video length for the overhead timing")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--memory-frames", type=int, nargs="*", default=list(MEMORY_FRAMES),
                        help="video lengths for the memory runs (none: skip them)")
    args = parser.parse_args(argv)
    bench = MaskPoseBench(args.size[0], args.size[1], steps=args.steps, device=args.device)
    timing = sampler_overhead(bench, args.frames, args.repeats)
    print(f"{len(unet_calls(bench, args.frames))} UNet calls per run ({args.frames} frames, {args.steps} steps)")
    print(timing.report("sampler / bare UNet forwards", OVERHEAD_LIMIT))
    once = preparation(bench, args.frames, args.repeats)
    clock = WALL if bench.device.startswith("cuda") else CPU
    loop = (timing.candidate.stats(clock)[1] - once.stats(clock)[1]) / timing.baseline.stats(clock)[1]
    print(once.line())
    print(f"without the once-per-video work (which does not grow with steps): {loop:.3f}x the bare forwards")
    if args.memory_frames:
        memory_bench = MaskPoseBench(args.size[0], args.size[1], steps=1, device=args.device)
        print(memory_report(memory_vs_frames(memory_bench, tuple(args.memory_frames))))
    return 0


if __name__ == "__main__":  # memory runs spawn fresh processes, which re-import this module
    raise SystemExit(main())
