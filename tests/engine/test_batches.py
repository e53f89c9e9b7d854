from __future__ import annotations

import pytest

from weaksal.engine.batches import StepBatchSampler


def test_each_epoch_is_a_permutation_and_resume_replays_the_same_batches():
    full = list(StepBatchSampler(10, 3, seed=5, start=0, stop=9))
    assert len(full) == 9
    for epoch in range(3):  # 3 batches per epoch, the 10th sample of each epoch dropped
        seen = sum(full[epoch * 3 : epoch * 3 + 3], [])
        assert len(set(seen)) == 9 and set(seen) <= set(range(10))
    assert full[0:3] != full[3:6]  # reshuffled every epoch
    assert list(StepBatchSampler(10, 3, seed=5, start=4, stop=9)) == full[4:]


def test_ranks_split_the_global_batch():
    single = list(StepBatchSampler(12, 4, seed=1, start=0, stop=5))
    ranks = [
        list(StepBatchSampler(12, 4, seed=1, start=0, stop=5, rank=r, world_size=2)) for r in (0, 1)
    ]
    for step, batch in enumerate(single):
        assert ranks[0][step] == batch[0::2] and ranks[1][step] == batch[1::2]


def test_bad_batch_sizes_are_refused():
    with pytest.raises(ValueError, match="not divisible"):
        StepBatchSampler(10, 3, 0, 0, 1, world_size=2)
    with pytest.raises(ValueError, match="cannot fill"):
        StepBatchSampler(2, 3, 0, 0, 1)
