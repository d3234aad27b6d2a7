"""Identity Matching Graph via Mask–Query Attention with r_all aggregation (SPEC §1.2–1.4)."""
from __future__ import annotations

import pytest
import torch
from choreograph.core.losses.img_loss import (
    MatchingScore,
    flat_masks,
    matching_loss,
    matching_score,
    node_affinities,
    union_masked,
)

L = 8  # tokens per frame: left half 0..3 is character/reference 0, right half 4..7 is 1


def _halves(frames: int = 1) -> torch.Tensor:
    masks = torch.zeros(frames, 2, L)
    masks[:, 0, :4] = 1
    masks[:, 1, 4:] = 1
    return masks


def _aligned(swap: bool, strength: float = 20.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Queries of character j point at the keys of reference j (or of the other one when ``swap``)."""
    keys = torch.zeros(1, 1, L, 2)
    keys[0, 0, :4, 0] = 1
    keys[0, 0, 4:, 1] = 1
    queries = torch.zeros(1, 1, L, 2)
    left, right = (1, 0) if swap else (0, 1)
    queries[0, 0, :4, left] = strength
    queries[0, 0, 4:, right] = strength
    return queries, keys


def _dense_reference(q, k, gen, ref, match):
    """Eqs. 4–7 written the slow way: full attention, loops over characters."""
    a = torch.softmax(q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5, -1).mean(1)
    scores = []
    for b in range(q.shape[0]):
        s = torch.stack([torch.stack([gen[b, j] @ a[b] @ ref[b, i] for i in range(ref.shape[1])])
                         for j in range(gen.shape[1])])
        w = s / (s.sum(-1, keepdim=True) + 1e-8)
        keep = [j for j in range(gen.shape[1]) if gen[b, j].sum() > 0]
        scores.append(sum(w[j, match[b, j]] for j in keep) / sum(w[j].sum() for j in keep))
    return torch.stack(scores)


def test_correct_attention_scores_one_and_swapped_scores_zero():
    match = torch.tensor([[0, 1]])
    right = matching_score(*_aligned(False), _halves(), _halves(), match)
    wrong = matching_score(*_aligned(True), _halves(), _halves(), match)
    assert float(right.score) > 0.99 and float(wrong.score) < 0.01
    assert bool(right.valid) and bool(wrong.valid)
    assert float(matching_loss([right])) < 0.01 and float(matching_loss([wrong])) > 0.99


def test_uniform_attention_weighs_references_by_area():
    q, k = torch.zeros(1, 2, L, 4), torch.randn(1, 2, L, 4)
    ref = torch.zeros(1, 2, L)
    ref[0, 0, :2] = 1  # reference 0 covers 2 tokens, reference 1 covers 6
    ref[0, 1, 2:] = 1
    result = matching_score(q, k, _halves(), ref, torch.tensor([[0, 1]]))
    assert torch.allclose(result.score, torch.tensor([0.5]), atol=1e-6)  # (2/8 + 6/8) / 2


def test_chunked_equals_dense_reference():
    g = torch.Generator().manual_seed(3)
    q, k = torch.randn(3, 2, L, 4, generator=g), torch.randn(3, 2, L, 4, generator=g)
    gen = (torch.rand(3, 3, L, generator=g) > 0.5).float()
    ref = torch.zeros(3, 3, L)
    ref[:, 0, :3], ref[:, 1, 3:5], ref[:, 2, 6:] = 1, 1, 1
    match = torch.tensor([[0, 1, 2], [2, 0, 1], [1, 1, 0]])
    for chunk in (3, 1024):
        result = matching_score(q, k, gen, ref, match, chunk=chunk)
        assert torch.allclose(result.score, _dense_reference(q, k, gen, ref, match), atol=1e-5)


def test_affinities_skip_uncovered_rows_without_changing_results():
    g = torch.Generator().manual_seed(4)
    q, k = torch.randn(1, 1, L, 4, generator=g), torch.randn(1, 1, L, 4, generator=g)
    gen = torch.zeros(1, 1, L)
    gen[0, 0, 6] = 1
    full = node_affinities(q, k, gen, _halves(), chunk=1024)
    assert torch.allclose(node_affinities(q, k, gen, _halves(), chunk=2), full, atol=1e-6)


def test_invalid_frames_are_excluded():
    q, k = _aligned(True)
    single_ref = torch.zeros(1, 2, L)
    single_ref[0, 0] = 1
    one_ref = matching_score(q, k, _halves(), single_ref, torch.tensor([[0, 0]]))
    no_gen = matching_score(q, k, torch.zeros(1, 2, L), _halves(), torch.tensor([[0, 1]]))
    unknown = matching_score(q, k, _halves(), _halves(), torch.tensor([[-1, -1]]))
    assert not bool(one_ref.valid) and not bool(no_gen.valid) and not bool(unknown.valid)
    loss = matching_loss([one_ref])
    assert float(loss) == 0.0


def test_loss_gradient_moves_attention_to_the_right_reference():
    q, k = _aligned(True, strength=1.0)
    q = q.clone().requires_grad_(True)
    match = torch.tensor([[0, 1]])
    before = float(matching_score(q.detach(), k, _halves(), _halves(), match).score)
    optimiser = torch.optim.SGD([q], lr=5.0)
    for _ in range(30):
        optimiser.zero_grad()
        matching_loss([matching_score(q, k, _halves(), _halves(), match)], variant="log").backward()
        optimiser.step()
    after = float(matching_score(q.detach(), k, _halves(), _halves(), match).score)
    assert before < 0.5 and after > 0.9


def test_layers_average_and_variants():
    a = MatchingScore(torch.tensor([0.2, 0.9]), torch.tensor([True, True]))
    b = MatchingScore(torch.tensor([0.4, 0.5]), torch.tensor([True, False]))
    assert torch.isclose(matching_loss([a, b]), torch.tensor(0.7))  # only frame 0: 1 − 0.3
    assert torch.isclose(matching_loss([a, b], variant="log"), -torch.log(torch.tensor(0.3)))
    with pytest.raises(ValueError):
        matching_loss([a], variant="square")


def test_union_masking_and_mask_resizing():
    features = torch.ones(1, L, 3)
    ref = _halves()
    ref[0, 1, 4:] = 0
    assert torch.equal(union_masked(features, ref)[0, :, 0], torch.tensor([1., 1, 1, 1, 0, 0, 0, 0]))
    masks = torch.zeros(1, 1, 8, 8, dtype=torch.bool)
    masks[0, 0, :, :4] = True
    assert torch.equal(flat_masks(masks, (2, 2)), torch.tensor([[[1., 0, 1, 0]]]))
