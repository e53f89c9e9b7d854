"""Where the shared real datasets live: one setting, ``WEAKSAL_DATA``."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]  # weaksal/plumbing/paths.py -> the checkout


def data_root() -> Path:
    """``$WEAKSAL_DATA``, else ``../shared/data`` beside the repository checkout."""
    configured = os.environ.get("WEAKSAL_DATA")
    if configured:
        return Path(configured).expanduser()
    return (REPO_ROOT.parent / "shared" / "data").resolve()


def cache_root() -> Path:
    """``$WEAKSAL_CACHE``, else ``~/.cache/weaksal``: facts about files worth keeping between runs."""
    configured = os.environ.get("WEAKSAL_CACHE")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "weaksal"
