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

    def __init__(self, path: str | Path, problem: str, fix: str):
        self.path = Path(path)
        self.problem = problem
        self.fix = fix
        super().__init__(f"{self.path}: {problem}. Fix: {fix}")


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
