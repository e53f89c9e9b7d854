"""Versioned pseudo-labels: ``root/round_<k>/<stem>.png``, a round final once it is committed.

Methods that replace their labels while training (JSM updates them every few
epochs; WSS and MWS make new ones between self-training rounds) write each
version into its own folder instead of overwriting the last one, so that

* a run killed in the middle of an update resumes it: the labels already
  written are kept (each written atomically) and only the missing ones are
  made, and training never reads a round until :meth:`LabelStore.commit`
  wrote its ``DONE.json``;
* a run resumed from a checkpoint taken before an update reads exactly the
  labels it read then (:meth:`LabelStore.folder` of the round it recorded);
* every version stays on disk for inspection and for label-quality curves.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from weaksal.data.atomic import write_json, write_png

DONE = "DONE.json"
_ROUND = re.compile(r"^round_(\d+)$")


class LabelStore:
    """The label versions under ``root``; round 0 is conventionally the initial labels."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def folder(self, round_: int) -> Path:
        return self.root / f"round_{round_}"

    def rounds(self) -> list[int]:
        """The committed rounds, oldest first."""
        if not self.root.is_dir():
            return []
        found = []
        for child in self.root.iterdir():
            match = _ROUND.match(child.name)
            if match and (child / DONE).is_file():
                found.append(int(match.group(1)))
        return sorted(found)

    def latest(self) -> int | None:
        """The newest committed round, None before the first commit."""
        rounds = self.rounds()
        return rounds[-1] if rounds else None

    def is_committed(self, round_: int) -> bool:
        return (self.folder(round_) / DONE).is_file()

    def label_path(self, stem: str, round_: int | None = None) -> Path:
        """Where ``stem``'s label of ``round_`` (default: the newest committed one) lives."""
        if round_ is None:
            round_ = self.latest()
            if round_ is None:
                raise FileNotFoundError(f"{self.root}: no committed label round yet")
        elif not self.is_committed(round_):
            raise FileNotFoundError(f"{self.folder(round_)}: round {round_} is not committed")
        return self.folder(round_) / f"{stem}.png"

    def missing(self, round_: int, stems: Iterable[str]) -> list[str]:
        """The stems whose label of ``round_`` is not written yet (what a resumed update still does)."""
        folder = self.folder(round_)
        return [stem for stem in stems if not (folder / f"{stem}.png").is_file()]

    def write(self, round_: int, stem: str, label: np.ndarray) -> Path:
        """Write one label of an uncommitted round (atomically: never half a file)."""
        if self.is_committed(round_):
            raise ValueError(
                f"{self.folder(round_)}: round {round_} is committed; labels are final"
            )
        latest = self.latest()
        if latest is not None and round_ <= latest:
            raise ValueError(f"round {round_} would go back in time: round {latest} is committed")
        path = self.folder(round_) / f"{stem}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_png(path, label)
        return path

    def commit(self, round_: int, stems: Iterable[str], info: dict[str, Any] | None = None) -> None:
        """Declare round ``round_`` final; every one of ``stems`` must have its label."""
        stems = list(stems)
        missing = self.missing(round_, stems)
        if missing:
            raise ValueError(
                f"{self.folder(round_)}: cannot commit, {len(missing)} labels missing"
                f" (first {missing[0]})"
            )
        write_json(self.folder(round_) / DONE, {"labels": len(stems), **(info or {})})

    def info(self, round_: int) -> dict[str, Any]:
        """What :meth:`commit` recorded for a committed round."""
        return json.loads((self.folder(round_) / DONE).read_text())
