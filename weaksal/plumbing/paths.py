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


def file_name_part(text: str) -> str:
    """``text`` made safe as part of a file name: every character other than letters, digits,
    ``.``, ``-`` and ``_`` becomes ``_``, and no leading dot, so a method called ``../x`` or
    ``a/b`` cannot write outside the folder (or hide its file)."""
    import re

    safe = re.sub(r"[^A-Za-z0-9._-]", "_", text).lstrip(".")
    return safe.replace("..", "__") or "_"
