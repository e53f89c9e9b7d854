"""Batches addressed by step number, so a resumed run draws exactly the batches it would have.

For a source of ``n`` samples and global batch ``B``, step ``t`` reads positions
``t*B .. t*B+B-1`` of an endless stream made of one seeded permutation per
epoch (the last incomplete batch of an epoch is dropped). Under data-parallel
training rank ``r`` of ``W`` takes every ``W``-th sample of the global batch,
so the union over ranks is the single-process batch. The loop's only state
is the step counter.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, Dataset, Sampler


def epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=generator)


class StepBatchSampler(Sampler[list[int]]):
    """Index lists for steps ``start .. stop-1`` of one source, for one rank."""

    def __init__(
        self,
        n: int,
        batch_size: int,
        seed: int,
        start: int,
        stop: int,
        rank: int = 0,
        world_size: int = 1,
        shuffle: bool = True,
    ) -> None:
        if batch_size % world_size:
            raise ValueError(f"batch size {batch_size} is not divisible by {world_size} processes")
        if n < batch_size:
            raise ValueError(f"{n} samples cannot fill one batch of {batch_size}")
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.start, self.stop = start, stop
        self.rank, self.world_size, self.shuffle = rank, world_size, shuffle
        self.steps_per_epoch = n // batch_size

    def __len__(self) -> int:
        return max(self.stop - self.start, 0)

    def indices(self, step: int) -> list[int]:
        epoch, within = divmod(step, self.steps_per_epoch)
        order = (
            epoch_permutation(self.n, self.seed, epoch) if self.shuffle else torch.arange(self.n)
        )
        batch = order[within * self.batch_size : (within + 1) * self.batch_size]
        return batch[self.rank :: self.world_size].tolist()

    def __iter__(self) -> Iterator[list[int]]:
        for step in range(self.start, self.stop):
            yield self.indices(step)


def step_loader(
    dataset: Dataset,
    batch_size: int,
    seed: int,
    start: int,
    stop: int,
    rank: int = 0,
    world_size: int = 1,
    workers: int = 1,
    shuffle: bool = True,
) -> DataLoader:
    """A DataLoader yielding the batches of steps ``start .. stop-1`` for this rank.

    The loader gets its own generator so that starting worker processes never
    draws from the global RNG (which the training step's dropout uses).
    """
    sampler = StepBatchSampler(
        len(dataset), batch_size, seed, start, stop, rank, world_size, shuffle
    )
    return DataLoader(
        dataset,
        batch_sampler=sampler,
        num_workers=workers,
        persistent_workers=False,
        prefetch_factor=4 if workers else None,
        generator=torch.Generator().manual_seed(seed),
        pin_memory=torch.cuda.is_available(),
        multiprocessing_context="spawn" if workers else None,
        worker_init_fn=_limit_worker_threads if workers else None,
    )


def _limit_worker_threads(_: int) -> None:
    """Workers decode and resize; leave the cores to the training step."""
    import cv2

    from weaksal.plumbing.parallel import die_with_parent

    die_with_parent()
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
