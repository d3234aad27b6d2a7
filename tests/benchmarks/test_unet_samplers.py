"""The ReferenceNet and MaskPose sampler benchmarks compare against exactly the UNet calls the samplers make."""
from __future__ import annotations

import torch
from choreograph.benchmarks import maskpose_sampler as maskpose
from choreograph.benchmarks import referencenet_sampler as referencenet
from choreograph.core.sampling.animate_anyone import sample_video
from choreograph.core.sampling.stable_animator import generate_latents


def _counting(module: torch.nn.Module) -> list[int]:
    calls: list[int] = []
    module.register_forward_hook(lambda _m, args, _out: calls.append(1))
    return calls


def test_referencenet_bare_forwards_match_the_sampler_calls():
    bench = referencenet.MemoryBench(steps=1, context_frames=8, context_overlap=2)
    models, reference, poses = referencenet._setup(bench, 12)
    calls = _counting(models.denoising_unet)
    sample_video(models, reference, poses, bench.settings(), bench.schedule())
    assert len(calls) == len(referencenet.unet_calls(bench, 12)) == 1 * 2 * 2  # steps × windows × branches
    result = referencenet.sampler_overhead(referencenet.MemoryBench(steps=1, height=32, width=32), frames=4,
                                           repeats=1)
    assert result.baseline.repeats == 1 and result.ratio > 0


def test_maskpose_bare_forwards_match_the_sampler_calls():
    bench = maskpose.MaskPoseBench(steps=1)
    model, video = maskpose.random_model(bench), maskpose.random_video(bench, 20)
    calls = _counting(model.unet)
    generate_latents(model, video, bench.settings())
    assert len(calls) == len(maskpose.unet_calls(bench, 20)) == 1 * 2 * 2  # steps × tiles × branches
    result = maskpose.sampler_overhead(bench, frames=20, repeats=1)
    assert result.candidate.repeats == 1 and result.verdict(1.05) == "no verdict"
    once = maskpose.preparation(bench, frames=20, repeats=1)  # the per-video part of the sampler's extra cost
    assert 0 < once.cpu[0] < result.candidate.cpu[0]
