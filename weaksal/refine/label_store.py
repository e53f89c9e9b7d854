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

from weaksal.plumbing.atomic import write_json, write_png

DONE = "DONE.json"
_ROUND = re.compile(r"^round_(\d+)$")


class LabelStore:
    """The label versions under ``root``; round 0 is conventionally the initial labels.

    Rounds only go forward: once a round is committed its labels are final, and no
    earlier round can be written any more, so a resumed run can never mix versions.

    Parameters
    ----------
    root : str or Path
        The folder holding ``round_<k>/``; created on the first write.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> folder = tempfile.TemporaryDirectory()
    >>> store = LabelStore(folder.name)
    >>> store.write(1, "cat", np.zeros((2, 2), np.uint8)).name
    'cat.png'
    >>> store.latest() is None  # written, not committed: training cannot read it yet
    True
    >>> store.missing(1, ["cat", "dog"])
    ['dog']
    >>> store.commit(1, ["cat"], {"refiner": "mr"})
    >>> store.latest(), store.info(1)
    (1, {'labels': 1, 'refiner': 'mr'})
    >>> folder.cleanup()
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def folder(self, round_: int) -> Path:
        """``root/round_<round_>``, committed or not."""
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
        """Whether round ``round_`` is final (its ``DONE.json`` is written)."""
        return (self.folder(round_) / DONE).is_file()

    def label_path(self, stem: str, round_: int | None = None) -> Path:
        """Where ``stem``'s label of a committed round lives.

        Parameters
        ----------
        stem : str
            The image's stem.
        round_ : int, optional
            The round; default the newest committed one.

        Returns
        -------
        Path

        Raises
        ------
        FileNotFoundError
            If no round is committed yet, or ``round_`` is not: training must never read
            a half-written round.
        """
        if round_ is None:
            round_ = self.latest()
            if round_ is None:
                raise FileNotFoundError(f"{self.root}: no committed label round yet")
        elif not self.is_committed(round_):
            raise FileNotFoundError(f"{self.folder(round_)}: round {round_} is not committed")
        return self.folder(round_) / f"{stem}.png"

    def missing(self, round_: int, stems: Iterable[str]) -> list[str]:
        """The stems whose label of ``round_`` is not written yet (what a resumed update still does).

        Parameters
        ----------
        round_ : int
        stems : iterable of str

        Returns
        -------
        list of str
            In the order of ``stems``.
        """
        folder = self.folder(round_)
        return [stem for stem in stems if not (folder / f"{stem}.png").is_file()]

    def write(self, round_: int, stem: str, label: np.ndarray) -> Path:
        """Write one label of an uncommitted round (atomically: never half a file).

        Parameters
        ----------
        round_ : int
            A round newer than every committed one.
        stem : str
            The image's stem.
        label : (H, W) uint8 ndarray
            The label, written as ``<stem>.png``.

        Returns
        -------
        Path
            The file written.

        Raises
        ------
        ValueError
            If ``round_`` is committed, or not newer than the newest committed round.
        """
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
        """Declare round ``round_`` final; every one of ``stems`` must have its label.

        Parameters
        ----------
        round_ : int
        stems : iterable of str
            Every image the round must hold.
        info : dict, optional
            Recorded in ``DONE.json`` with the label count (see :meth:`info`).

        Raises
        ------
        ValueError
            If a label is missing.
        """
        stems = list(stems)
        missing = self.missing(round_, stems)
        if missing:
            raise ValueError(
                f"{self.folder(round_)}: cannot commit, {len(missing)} labels missing"
                f" (first {missing[0]})"
            )
        write_json(self.folder(round_) / DONE, {"labels": len(stems), **(info or {})})

    def info(self, round_: int) -> dict[str, Any]:
        """What :meth:`commit` recorded for a committed round.

        Returns
        -------
        dict
            ``labels`` (the count) and the ``info`` given to :meth:`commit`.
        """
        return json.loads((self.folder(round_) / DONE).read_text())
