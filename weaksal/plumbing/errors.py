"""Error classes. Every message names the file at fault and says how to fix it.

The CLI turns any :class:`WeaksalError` into a one-paragraph message and a
non-zero exit status instead of a traceback.
"""

from __future__ import annotations

from pathlib import Path


class WeaksalError(Exception):
    """Base class of every error this toolkit raises on purpose."""


class DataError(WeaksalError):
    """A problem with one input file; ``path`` names it."""

    def __init__(self, path: str | Path, problem: str | None = None, fix: str | None = None):
        if problem is None:  # rebuilt from its message alone (see _from_message)
            path, problem, fix = _from_message(str(path))
        self.path = Path(path)
        self.problem = problem
        self.fix = fix
        super().__init__(f"{self.path}: {problem}. Fix: {fix}")

    def __reduce__(self):
        # Worker processes (evaluation pools) pickle the error back to the parent: keep every field.
        return (type(self), (str(self.path), self.problem, self.fix))


def _from_message(message: str) -> tuple[str, str, str]:
    """(path, problem, fix) from a message ``"<path>: <problem>. Fix: <fix>"``.

    torch's DataLoader re-raises a worker's exception as ``type(message)``,
    where ``message`` wraps the original traceback; the original one-line
    message is the traceback's last line, after the class name.
    """
    lines = [line for line in message.strip().splitlines() if line.strip()]
    line = lines[-1] if lines else message
    for prefix in (f"{cls.__module__}.{cls.__name__}: " for cls in _all_errors()):
        if line.startswith(prefix):
            line = line[len(prefix) :]
            break
    head, _, fix = line.partition(". Fix: ")
    path, _, problem = head.partition(": ")
    return path, problem or head, fix or "see the message above"


def _all_errors() -> list[type]:
    found, todo = [], [WeaksalError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


class CorruptFileError(DataError):
    """The file cannot be decoded (truncated, not an image, bad CSV/JSON...)."""


class DecompressionBombError(DataError):
    """The image claims more pixels than the configured limit."""


class UnpairedFileError(DataError):
    """An image without its mask (or a mask without its image)."""


class SizeMismatchError(DataError):
    """A mask, depth map or prediction whose size differs from its image."""


class DuplicateStemError(DataError):
    """Two files in one folder share a stem, so pairing by stem is ambiguous."""


class LayoutError(DataError):
    """A folder whose layout is not one the dataset layer understands."""


class WeightsUnavailableError(DataError):
    """Pretrained weights were asked for and none could be found or downloaded."""


class CheckpointError(DataError):
    """A checkpoint or exported model that cannot be read or does not fit the model."""


class ConfigError(DataError):
    """A training config, an override of it, or a run folder that does not fit it."""
