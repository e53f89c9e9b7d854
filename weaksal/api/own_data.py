"""Training on your own photos: a folder of images (and their tags) made into a dataset a
method reads, with a seeded held-out split when you give none.

``weaksal train wss --images photos/ --tags tags.csv --out runs/mine`` builds, in the run
folder, ``data/`` (a link to the images, a copy of the tags) and ``data/split.csv``: your own ``split.csv`` when the images folder has one, else a seeded
split that holds out a share of every class (at least one image of each class that has two
or more) for validation and checkpoint choice, never for training. The split is written once
and kept, so a resumed run validates on the same images.
"""

from __future__ import annotations

import csv
import io
import random
import shutil
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from weaksal.plumbing.errors import LayoutError

#: the share of each class held out when no split is given, and the fewest images that allow it
HOLD_OUT_SHARE = 0.1
MIN_IMAGES = 10


@dataclass
class OwnData:
    """The dataset view of a user's folder: where it is and how it was split."""

    root: Path
    train: int
    val: int
    split_from: str  # "your split.csv" or "seeded (seed S, share P)"
    warning: str | None = None


def own_data_view(
    images: str | Path,
    run_dir: str | Path,
    tags: str | Path | None = None,
    seed: int = 0,
    share: float = HOLD_OUT_SHARE,
) -> OwnData:
    """Build (or find, on a resumed run) ``run_dir/data`` for the folder ``images``.

    Parameters
    ----------
    images : folder of the user's photos (a ``tags.csv`` or ``split.csv`` in it is used)
    run_dir : the run folder; the view goes to ``run_dir/data``
    tags : a ``tags.csv`` elsewhere (``image,tag[,tag...]``)
    seed, share : the held-out split when none is given

    Returns
    -------
    OwnData
    """
    from weaksal.data.discover import open_dataset, read_split_file
    from weaksal.plumbing.atomic import write_text

    images = Path(images).resolve()
    if not images.is_dir():
        raise LayoutError(images, "is not a folder", "point --images at the folder of your photos")
    view = Path(run_dir) / "data"
    view.mkdir(parents=True, exist_ok=True)
    _link(view / "images", images)
    tag_source = Path(tags) if tags is not None else images / "tags.csv"
    if tags is not None and not tag_source.is_file():
        raise LayoutError(tag_source, "does not exist", "pass the tags.csv of your photos")
    if tag_source.is_file() and not (view / "tags.csv").exists():
        shutil.copyfile(tag_source, view / "tags.csv")
    split_file = view / "split.csv"
    if (images / "split.csv").is_file() and not split_file.exists():
        shutil.copyfile(images / "split.csv", split_file)
    samples = open_dataset(view).samples
    warning = None
    if split_file.exists():
        splits = read_split_file(split_file)
        source = "your split.csv" if (images / "split.csv").is_file() else f"seeded (seed {seed})"
    else:
        splits = _seeded_split(samples, seed, share)
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(["image", "split"])
        writer.writerows(sorted(splits.items()))
        write_text(split_file, text.getvalue())
        source = f"seeded (seed {seed}, share {share})"
    train = sum(1 for s in samples if splits.get(s.stem) == "train")
    val = sum(1 for s in samples if splits.get(s.stem) == "val")
    if val == 0:
        warning = (
            f"{images}: {len(samples)} images are too few to hold any out for validation"
            f" (at least {MIN_IMAGES}); the run keeps its last weights, unvalidated"
        )
    return OwnData(view, train, val, source, warning)


def _seeded_split(samples, seed: int, share: float) -> dict[str, str]:
    """Per class (a sample's first tag), a seeded ``share`` held out, at least one image of a
    class that has two; with no tags, the share of all images. Too few images: none held out."""
    splits = {s.stem: "train" for s in samples}
    if len(samples) < MIN_IMAGES:
        return splits
    groups: dict[str, list[str]] = defaultdict(list)
    for sample in samples:
        tags = sample.label("tags")
        groups[tags[0] if tags else ""].append(sample.stem)
    rng = random.Random(seed)
    for name in sorted(groups):
        stems = sorted(groups[name])
        if len(stems) < 2:
            continue
        rng.shuffle(stems)
        for stem in stems[: max(1, round(share * len(stems)))]:
            splits[stem] = "val"
    return splits


def _link(link: Path, target: Path) -> None:
    if link.is_symlink() or link.exists():
        if link.resolve() != target:
            raise LayoutError(
                link, f"points at {link.resolve()}, not {target}", "use another --out for them"
            )
        return
    link.symlink_to(target, target_is_directory=True)
