"""Worker processes for embarrassingly parallel per-file work (checks, evaluation)."""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of fresh processes with one compute thread each.

    "spawn", not fork: forking a process whose OpenCV or BLAS thread pools are
    running can deadlock the child. One thread each: several processes each
    spinning up thread pools on the same cores run slower than one process.
    """
    return _Pool(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_one_thread)


class _Pool(ProcessPoolExecutor):
    """A pool that, left by an exception (an error, Ctrl-C, SIGTERM), stops at once.

    The standard pool waits for every queued job before it lets go; here the
    queued jobs are cancelled and the workers terminated, so an interrupted
    run ends now and resumes later from the files already written. Its workers
    never run the caller's script (see :func:`_main_hidden`).
    """

    def _spawn_process(self):
        with _main_hidden():
            super()._spawn_process()

    def __exit__(self, exc_type, exc, traceback):
        if exc_type is None:
            return super().__exit__(exc_type, exc, traceback)
        processes = list((self._processes or {}).values())
        self.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=5)
        return False


@contextlib.contextmanager
def _main_hidden():
    """Start workers without the caller's ``__main__``.

    A "spawn" worker re-imports the script that started it, so a plain script
    calling ``weaksal.check(...)`` without ``if __name__ == "__main__":`` would
    run again in every worker and end in ``BrokenProcessPool``. The jobs are
    functions of weaksal's own modules and need nothing of the script, so
    the script's path and module name are hidden while a worker starts.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    saved = {key: main.__dict__[key] for key in ("__file__", "__spec__") if key in main.__dict__}
    try:
        main.__dict__.pop("__file__", None)
        main.__dict__["__spec__"] = None
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)


def _one_thread() -> None:
    import cv2
    from threadpoolctl import threadpool_limits

    die_with_parent()
    signal.signal(signal.SIGTERM, _remove_temporaries_and_exit)
    cv2.setNumThreads(1)
    threadpool_limits(1)


def _remove_temporaries_and_exit(signum, frame) -> None:
    """SIGTERM in a worker (the pool stopping it): no half-written file stays behind."""
    from weaksal.plumbing.atomic import remove_open_temporaries

    remove_open_temporaries()
    os._exit(128 + signum)


def die_with_parent() -> None:
    """End this worker process when its parent dies, however it dies (SIGKILL included).

    A pool's workers otherwise finish their queued files and then block
    forever on a queue nobody reads. Linux: the kernel sends SIGKILL on the
    parent's death (``PR_SET_PDEATHSIG``); elsewhere a daemon thread watches
    the parent's process id.
    """
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
                if os.getppid() != parent:  # the parent died before the call
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, daemon=True, name="die-with-parent").start()


_PR_SET_PDEATHSIG = 1


def shard_from_env() -> tuple[int, int]:
    """(rank, world size) of a ``torchrun`` launch, else (0, 1)."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
