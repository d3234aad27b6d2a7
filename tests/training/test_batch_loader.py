"""Batches built in worker processes are exactly the batches of an unthreaded run, per (seed, step, process)."""
from __future__ import annotations

from functools import partial

import pytest
import torch
from choreograph.training.batch_loader import StepBatches, step_generators
from choreograph.training.dataset import Clip, list_clips
from choreograph.training.ed_objective import ed_batch
from choreograph.training.scail2_batch import SampleOptions


@pytest.fixture(scope="module")
def clips(clip_root):
    return [Clip(path) for path in list_clips(clip_root)]


def _same(a, b) -> bool:
    return all(torch.equal(getattr(a, f), getattr(b, f)) for f in a.__dataclass_fields__)


MAKER = partial(ed_batch, SampleOptions(1, 32, 32, swap_probability=0.5), 2)


def assert_batches_match_unthreaded(clips, workers: int, first: int = 1, last: int = 6) -> None:
    with StepBatches(MAKER, clips, seed=7, rank=1, first=first, last=last, workers=workers, maker=MAKER) as batches:
        assert batches.processes == workers
        for step in range(first, last):
            batch, generator = batches.get(step)
            assert _same(batch, MAKER(clips, step_generators(7, step, 1)[0])), (workers, step)
            assert torch.equal(torch.randn(3, generator=generator),
                               torch.randn(3, generator=step_generators(7, step, 1)[1]))


def test_worker_processes_build_exactly_the_unthreaded_batches(clips):
    assert not _same(MAKER(clips, step_generators(7, 1, 1)[0]), MAKER(clips, step_generators(7, 2, 1)[0]))
    assert_batches_match_unthreaded(clips, workers=0)
    assert_batches_match_unthreaded(clips, workers=1)


@pytest.mark.slow
def test_two_workers_and_a_resumed_run_get_the_same_batches(clips):
    assert_batches_match_unthreaded(clips, workers=2)
    assert_batches_match_unthreaded(clips, workers=2, first=4)  # a resumed run starts at its step with the same data


def test_another_process_rank_gets_other_batches(clips):
    maker = partial(ed_batch, SampleOptions(1, 32, 32), 2)
    rank0 = maker(clips, step_generators(7, 3, 0)[0])
    rank1 = maker(clips, step_generators(7, 3, 1)[0])
    assert not _same(rank0, rank1)


def test_objectives_without_a_batch_maker_stay_on_the_loader_thread(clips):
    calls = []

    def make(clip_list, rng):
        calls.append(int(rng.integers(1000)))
        return calls[-1]

    with StepBatches(make, clips, seed=0, rank=0, first=0, last=2, workers=2, maker=None) as batches:
        assert batches.processes == 0
        assert batches.get(0)[0] == step_generators(0, 0, 0)[0].integers(1000)
        with pytest.raises(RuntimeError, match="step order"):
            batches.get(5)
