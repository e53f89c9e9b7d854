"""Run a per-image job over many files: in parallel, resumable, failures by name.

Each job writes its own output atomically; an output that already exists is
a finished job and is skipped, so an interrupted run resumes where it stopped.
A job that fails with one of our errors (a bad input file) is recorded by
name and the others go on.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from weaksal.plumbing.errors import WeaksalError
from weaksal.plumbing.parallel import worker_pool


@dataclass
class BatchReport:
    done: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # outputs that existed already
    failed: list[tuple[str, str]] = field(default_factory=list)  # (name, message)


@dataclass(frozen=True)
class Job:
    name: str
    output: Path
    arguments: tuple


#: errors of the disk the outputs go to: every later job would fail the same way, so the run
#: stops at the first (naming the output), as ``weaksal predict`` does
DISK_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)


def run_job(task: tuple[Callable, Job]) -> tuple[str, str | None]:
    function, job = task
    try:
        function(*job.arguments, job.output)
    except WeaksalError as exc:
        return job.name, str(exc)
    except OSError as exc:
        if exc.errno in DISK_ERRORS:
            raise OSError(exc.errno, exc.strerror, str(job.output)) from None
        inputs = [str(a) for a in job.arguments if isinstance(a, Path)]
        where = f"{inputs[0]}: " if inputs else ""
        return job.name, f"{where}{type(exc).__name__}: {exc}"
    except (ValueError, ArithmeticError, MemoryError) as exc:  # name the input at fault
        inputs = [str(a) for a in job.arguments if isinstance(a, Path)]
        where = f"{inputs[0]}: " if inputs else ""
        return job.name, f"{where}{type(exc).__name__}: {exc}"
    return job.name, None


def run_batch(
    function: Callable,
    jobs: Sequence[Job],
    workers: int = 1,
    progress: Callable | None = None,
) -> BatchReport:
    """Call ``function(*job.arguments, job.output)`` for every job whose output is missing.

    ``function`` must be importable (top-level) to run in worker processes.
    """
    report = BatchReport()
    pending = []
    for job in jobs:
        if job.output.exists():
            report.kept.append(job.name)
        else:
            pending.append(job)
    tasks = [(function, job) for job in pending]
    if workers > 1 and len(tasks) > 1:
        with worker_pool(workers) as pool:
            results = pool.map(run_job, tasks, chunksize=4)
            results = progress(results, len(tasks)) if progress else results
            outcomes = list(results)
    else:
        results = map(run_job, tasks)
        outcomes = list(progress(results, len(tasks)) if progress else results)
    for name, error in outcomes:
        if error is None:
            report.done.append(name)
        else:
            report.failed.append((name, error))
    return report
