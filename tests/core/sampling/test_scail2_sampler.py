"""The full SCAIL-2 sampler on tiny networks: segments, history continuation, guidance, bad input."""
from __future__ import annotations

import pytest
import torch
from choreograph.core.errors import InputError
from choreograph.core.sampling.scail2 import Scail2Video, generate_scail2
from choreograph.core.sampling.solvers import FlowSettings
from choreograph.core.sampling.wan_prompt import WanPrompt

H, W = 32, 64


def _video(frames: int, mode: str = "animation") -> Scail2Video:
    g = torch.Generator().manual_seed(3)
    colour = torch.zeros(frames, H, W, 3)
    colour[:, 8:24, 8:24, 0] = 1.0  # one character in the red binding slot
    ref_colour = torch.ones(H, W, 3)  # animation: the reference mask's background is white (official)
    ref_colour[4:28, 30:50, 1:] = 0.0  # the same character in red
    return Scail2Video(reference=torch.rand(H, W, 3, generator=g), driving=torch.rand(frames, H, W, 3, generator=g),
                       reference_colour_mask=ref_colour, driving_colour_mask=colour, mode=mode)


def _prompt() -> WanPrompt:
    g = torch.Generator().manual_seed(4)
    return WanPrompt(torch.randn(1, 7, 32, generator=g), torch.zeros(1, 3, 32), torch.randn(1, 4, 24, generator=g))


def test_long_video_runs_in_segments_with_history(tiny_scail2, tiny_codec):
    seen = []
    settings = FlowSettings(steps=2, shift=5.0, guidance=3.0, solver="unipc", seed=1)
    out = generate_scail2(tiny_scail2, tiny_codec, _video(9), _prompt(), settings, segment=5, history=1,
                          progress=lambda done, total: seen.append((done, total)))
    assert out.shape == (9, H, W, 3) and out.dtype == torch.float32
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert seen[-1] == (4, 4)  # 2 segments × 2 steps


def test_seed_decides_the_result(tiny_scail2, tiny_codec):
    def run(seed: int) -> torch.Tensor:
        return generate_scail2(tiny_scail2, tiny_codec, _video(5), _prompt(), FlowSettings(steps=1, seed=seed))

    first = run(1)
    assert torch.equal(first, run(1))
    assert not torch.equal(first, run(2))


def test_extra_references_enter_the_sequence(tiny_scail2, tiny_codec):
    base = _video(5)
    extra = Scail2Video(base.reference, base.driving, base.reference_colour_mask, base.driving_colour_mask,
                        extra_references=torch.rand(2, H, W, 3), extra_reference_colour_masks=torch.ones(2, H, W, 3))
    settings = FlowSettings(steps=1, solver="euler")
    with_extra = generate_scail2(tiny_scail2, tiny_codec, extra, _prompt(), settings)
    assert with_extra.shape == (5, H, W, 3)
    assert not torch.equal(with_extra, generate_scail2(tiny_scail2, tiny_codec, base, _prompt(), settings))
    with pytest.raises(InputError, match="extra_reference_masks"):
        Scail2Video(base.reference, base.driving, base.reference_colour_mask, base.driving_colour_mask,
                    extra_references=torch.rand(2, H, W, 3))


@pytest.mark.parametrize("frames, kept", [(3, 1), (8, 5), (9, 9)])
def test_frame_count_not_4k_plus_1_is_truncated_and_reported(tiny_scail2, tiny_codec, caplog, frames, kept):
    with caplog.at_level("WARNING", logger="choreograph"):
        out = generate_scail2(tiny_scail2, tiny_codec, _video(frames), _prompt(),
                              FlowSettings(steps=1, solver="euler"), segment=9, history=1)
    assert out.shape[0] == kept  # ((T - 1) // 4) * 4 + 1, as the official code and native ComfyUI
    dropped = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert (f"last {frames - kept} frame" in dropped[0]) if frames != kept else not dropped


def test_the_reference_clip_tokens_are_required(tiny_scail2, tiny_codec):
    no_clip = WanPrompt(_prompt().positive, _prompt().negative)
    with pytest.raises(InputError, match="prompt.*CLIP-vision.*clip_vision_h"):
        generate_scail2(tiny_scail2, tiny_codec, _video(5), no_clip, FlowSettings(steps=1))


def test_mask_background_must_match_the_mode(tiny_scail2, tiny_codec):
    with pytest.raises(InputError, match="replacement"):  # a black background has no environment switch
        generate_scail2(tiny_scail2, tiny_codec, _video(5, mode="replacement"), _prompt(), FlowSettings(steps=1))


def test_resolution_and_mismatched_inputs_are_refused():
    good = _video(5)
    with pytest.raises(InputError, match="multiples of 32"):
        Scail2Video(torch.zeros(40, 64, 3), torch.zeros(5, 40, 64, 3), torch.zeros(40, 64, 3),
                    torch.zeros(5, 40, 64, 3))
    with pytest.raises(InputError, match="driving_colour_mask"):
        Scail2Video(good.reference, good.driving, good.reference_colour_mask, good.driving_colour_mask[:3])


def test_native_mode_composites_the_replacement_reference_and_runs_without_masks(tiny_scail2, tiny_codec):
    base = _video(5, mode="replacement")
    mask = torch.zeros(H, W, 3)
    mask[:, : W // 2, 0] = 1.0  # the character is the left half
    official = Scail2Video(base.reference, base.driving, mask, base.driving_colour_mask, "replacement", "official")
    native = Scail2Video(base.reference, base.driving, mask, base.driving_colour_mask, "replacement", "native")
    assert torch.equal(official.reference_pixels(base.reference, mask), base.reference)  # official: as given
    composite = native.reference_pixels(base.reference, mask)
    assert torch.equal(composite[:, : W // 2], base.reference[:, : W // 2]) and not composite[:, W // 2:].any()
    bare = Scail2Video(base.reference, base.driving, None, None, "animation", "native")
    text_only = WanPrompt(_prompt().positive, _prompt().negative)  # native also runs without CLIP tokens
    out = generate_scail2(tiny_scail2, tiny_codec, bare, text_only, FlowSettings(steps=1, solver="euler"))
    assert out.shape == (5, H, W, 3) and torch.isfinite(out).all()
    with pytest.raises(InputError, match="reference_image_mask.*official"):
        Scail2Video(base.reference, base.driving, None, None, "animation", "official")
