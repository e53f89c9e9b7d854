"""Worker processes for embarrassingly parallel per-file work (checks, evaluation)."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of fresh processes with one compute thread each.

    "spawn", not fork: forking a process whose OpenCV or BLAS thread pools are
    running can deadlock the child. One thread each: several processes each
    spinning up thread pools on the same cores run slower than one process.
    """
    return ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("spawn"), initializer=_one_thread
    )


def _one_thread() -> None:
    import cv2
    from threadpoolctl import threadpool_limits

    cv2.setNumThreads(1)
    threadpool_limits(1)
