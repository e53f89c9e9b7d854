"""A synthetic RGB-D saliency set made of real photos and real masks (for JSM, issue 17).

No RGB-D benchmark (NJU2K, NLPR...) nor JSM's CapS can be had on these
machines, so ``weaksal data make-rgbd`` builds scenes whose ground truth is
known exactly:

* **object**: a DUTS-TR-50 image's salient object, cut out by its mask,
  scaled and placed at random, composited with a feathered edge (the mask's
  anti-aliased grey, blurred) onto
* **background**: another real photo of the same split (a DUTS-TR-50 image,
  cropped to the side of its own object that is free of it, or inpainted where
  no such side is large enough; or a COCO-MINI photo: ``train2017`` for the
  training scenes, ``val2017`` for validation and test). ECSSD and SOD/BSDS
  images are never read.
* **ground truth**: the pasted object (alpha > 0.5).
* **depth** (nearness: bright is near, as NJU2K and NLPR store it): a
  background layout (a ground plane that recedes towards the top, or a room:
  floor, back wall and a side wall) with low-frequency noise; the object
  nearer than the ground it stands on, with its own relief (a dome over its
  distance transform). Then the faults that JSM's SSM is built for, each at a
  controlled rate: **holes** (blobs of missing depth, 0), **misalignment**
  (the object's depth silhouette shifted and grown or shrunk against the
  RGB), a **distractor** (a background region at the object's depth), and
  the object **at background depth** (no depth cue at all).
* **text**: the object's tag (``tags.csv``) and a *template* caption naming it
  and where it sits ("a mug on the left of the picture"); ``caption/CapS.csv``
  records the tag word and its slot (``Position``; slot 0 is the start token,
  so the caption's first word is slot 1). Tags of several words are written
  with hyphens (``golf-ball``): one slot, one word to fill in.

Objects of the ``train`` rows of ``split.csv`` make the training scenes; the
``val`` rows are split in two disjoint halves (per class, sorted stems
alternate) for the validation and the test scenes, whose backgrounds are
disjoint too. Every scene is a function of (seed, set, index) alone, so the
output does not depend on the number of workers, and a re-run skips the
finished scenes. Layout, as the real sets (the same loader reads both)::

    OUT/train/images/*.jpg  masks/*.png  depth/*.png  caption/CapS.csv  tags.csv  scenes.csv
    OUT/val/test_images/  test_masks/  test_depth/  caption/CapS.csv  tags.csv  scenes.csv
    OUT/test/...   (as val)
    OUT/made_by.json   the parameters and fault rates
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from weaksal.data.discover import SPLIT_FILE, open_dataset, read_split_file
from weaksal.data.imageio import read_image, read_mask
from weaksal.plumbing.atomic import write_bytes, write_json, write_png, write_text
from weaksal.plumbing.batch import Job, run_batch
from weaksal.plumbing.errors import DataError

SETS = ("train", "val", "test")
#: folder names of each set, as the real RGB-D sets have them
FOLDERS = {
    "train": ("images", "masks", "depth"),
    "val": ("test_images", "test_masks", "test_depth"),
    "test": ("test_images", "test_masks", "test_depth"),
}
LANDSCAPE = (288, 384)  # (height, width) of a scene; portrait scenes are transposed

TEMPLATES = (
    "a {word} {place}",
    "a photo of a {word} {place}",
    "there is a {word} {place}",
    "the {word} stands out {place}",
    "a close view of a {word} {place}",
    "an image with a {word} {place}",
)


@dataclass(frozen=True)
class FaultRates:
    """How often each depth fault JSM is about occurs (independently, per scene)."""

    holes: float = 0.3
    misalignment: float = 0.3
    distractor: float = 0.25
    flat_object: float = 0.15  # the object at background depth


@dataclass(frozen=True)
class ScenePlan:
    """Everything one scene is made from; drawn in the main process, made in a worker."""

    stem: str
    set: str
    object_stem: str
    object_image: str
    object_mask: str
    tag: str
    background: str  # image path
    background_mask: str  # its own salient object, to avoid ("" for COCO)
    portrait: bool
    scale: float  # the object's longer side / the scene's shorter side
    center: tuple[float, float]  # (y, x), fractions of the free range
    layout: str  # ground | room
    faults: tuple[str, ...]
    template: int
    seed: int
    caption: str = ""
    position: int = 0


@dataclass
class MakeRGBDSettings:
    train: int = 3000
    val: int = 300
    test: int = 300
    seed: int = 0
    faults: FaultRates = field(default_factory=FaultRates)


# -- the sources ------------------------------------------------------------------
def _halves(stems_by_tag: Mapping[str, list[str]]) -> tuple[list[str], list[str]]:
    """Per tag, sorted stems alternate: even positions to validation, odd to test."""
    val, test = [], []
    for tag in sorted(stems_by_tag):
        for position, stem in enumerate(sorted(stems_by_tag[tag])):
            (val if position % 2 == 0 else test).append(stem)
    return sorted(val), sorted(test)


def source_sets(duts: Path, coco: Path | None) -> dict[str, dict[str, Any]]:
    """Objects and backgrounds of each set: {set: {"objects": [Sample], "backgrounds": [...]}}."""
    index = open_dataset(duts)
    splits = read_split_file(duts / SPLIT_FILE)
    by_stem = {s.stem: s for s in index if s.mask is not None and len(s.label("tags")) == 1}
    if not by_stem:
        raise DataError(duts, "has no tagged images with masks", "use DUTS-TR-50 (tags.csv)")
    train = sorted(s for s in by_stem if splits.get(s) == "train")
    held: dict[str, list[str]] = defaultdict(list)
    for stem in by_stem:
        if splits.get(stem) == "val":
            held[by_stem[stem].label("tags")[0]].append(stem)
    val, test = _halves(held)
    coco_sets: dict[str, list[Path]] = {"train": [], "val": [], "test": []}
    if coco is not None:
        coco_train = [s.image for s in open_dataset(coco, split="train2017")]
        coco_val = [s.image for s in open_dataset(coco, split="val2017")]
        coco_sets = {"train": coco_train, "val": coco_val[0::2], "test": coco_val[1::2]}
    sets = {}
    for name, stems in (("train", train), ("val", val), ("test", test)):
        if len(stems) < 2:
            raise DataError(
                duts / SPLIT_FILE,
                f"leaves {len(stems)} tagged images with masks for the {name} scenes",
                "give split.csv at least 2 train rows and 4 val rows",
            )
        backgrounds = [(by_stem[s].image, by_stem[s].mask) for s in stems]
        backgrounds += [(path, None) for path in coco_sets[name]]
        sets[name] = {"objects": [by_stem[s] for s in stems], "backgrounds": backgrounds}
    return sets


def _words(tag: str) -> str:
    return "-".join(tag.split())


def _place(center_y: float, center_x: float) -> str:
    horizontal = "on the left" if center_x < 0.34 else "on the right" if center_x > 0.66 else ""
    vertical = "at the top" if center_y < 0.3 else "at the bottom" if center_y > 0.7 else ""
    if horizontal and vertical:
        return f"{vertical} {horizontal.replace('on the', 'towards the')} of the picture"
    return f"{horizontal or vertical or 'in the middle'} of the picture"


def plan_scenes(
    sources: Mapping[str, dict[str, Any]], settings: MakeRGBDSettings
) -> dict[str, list[ScenePlan]]:
    """Every scene's plan, from (seed, set, index) alone."""
    rates = asdict(settings.faults)
    plans: dict[str, list[ScenePlan]] = {}
    for set_index, name in enumerate(SETS):
        count = getattr(settings, name)
        objects, backgrounds = sources[name]["objects"], sources[name]["backgrounds"]
        order = np.random.default_rng([settings.seed, set_index]).permutation(len(objects))
        plans[name] = []
        for i in range(count):
            rng = np.random.default_rng([settings.seed, set_index, i])
            obj = objects[int(order[i % len(objects)])]
            while True:  # a background other than the object's own photo
                background, background_mask = backgrounds[int(rng.integers(len(backgrounds)))]
                if background != obj.image:
                    break
            faults = tuple(k for k, rate in rates.items() if rng.random() < rate)
            center = (float(rng.uniform(0.15, 0.85)), float(rng.uniform(0.1, 0.9)))
            template = int(rng.integers(len(TEMPLATES)))
            tag = obj.label("tags")[0]
            word = _words(tag)
            caption = TEMPLATES[template].format(word=word, place=_place(*center))
            position = caption.split().index(word) + 1  # slot 0 is the start token
            plans[name].append(
                ScenePlan(
                    stem=f"{name}_{i:05d}",
                    set=name,
                    object_stem=obj.stem,
                    object_image=str(obj.image),
                    object_mask=str(obj.mask),
                    tag=tag,
                    background=str(background),
                    background_mask=str(background_mask or ""),
                    portrait=bool(rng.random() < 0.25),
                    scale=float(rng.uniform(0.45, 0.85)),
                    center=center,
                    layout="room" if rng.random() < 0.4 else "ground",
                    faults=faults,
                    template=template,
                    seed=int(rng.integers(2**31)),
                    caption=caption,
                    position=position,
                )
            )
    return plans


# -- one scene --------------------------------------------------------------------
def background_photo(path: str, mask_path: str, shape: tuple[int, int]) -> np.ndarray:
    """The photo without its own salient object, resized to ``shape``.

    The widest side strip free of the object's bounding box is used when it
    holds at least 35% of the photo; otherwise the object is inpainted.
    """
    image = read_image(path)
    if mask_path:
        mask = read_mask(mask_path) > 32
        if mask.any():
            ys, xs = np.nonzero(mask)
            height, width = mask.shape
            strips = [
                (slice(0, ys.min()), slice(0, width)),
                (slice(ys.max() + 1, height), slice(0, width)),
                (slice(0, height), slice(0, xs.min())),
                (slice(0, height), slice(xs.max() + 1, width)),
            ]
            best = max(strips, key=lambda s: (s[0].stop - s[0].start) * (s[1].stop - s[1].start))
            area = (best[0].stop - best[0].start) * (best[1].stop - best[1].start)
            if (
                area >= 0.35 * height * width
                and min(best[0].stop - best[0].start, best[1].stop - best[1].start) >= 48
            ):
                image = image[best]
            else:
                hole = cv2.dilate(mask.astype(np.uint8), np.ones((15, 15), np.uint8))
                small = cv2.resize(image, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
                hole_small = cv2.resize(hole, (width // 2, height // 2)) > 0
                filled = cv2.inpaint(small, hole_small.astype(np.uint8), 5, cv2.INPAINT_TELEA)
                filled = cv2.resize(filled, (width, height), interpolation=cv2.INTER_LINEAR)
                image = np.where(hole[..., None] > 0, filled, image)
    return _cover(image, shape)


def _cover(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize to cover ``shape`` and crop its centre (no distortion)."""
    height, width = shape
    factor = max(height / image.shape[0], width / image.shape[1])
    size = (max(width, round(image.shape[1] * factor)), max(height, round(image.shape[0] * factor)))
    resized = cv2.resize(
        image, size, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    )
    top, left = (resized.shape[0] - height) // 2, (resized.shape[1] - width) // 2
    return np.ascontiguousarray(resized[top : top + height, left : left + width])


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cells: int) -> np.ndarray:
    """Low-frequency noise in [-1, 1]: a random ``cells``-grid up-sampled bicubically."""
    grid = rng.uniform(-1, 1, (cells, cells)).astype(np.float32)
    return np.clip(cv2.resize(grid, shape[::-1], interpolation=cv2.INTER_CUBIC), -1, 1)


def background_depth(rng: np.random.Generator, shape: tuple[int, int], layout: str) -> np.ndarray:
    """Nearness in [0, 1] of a ground plane or a room, with low-frequency noise."""
    height, width = shape
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    x = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    near, far = rng.uniform(0.45, 0.65), rng.uniform(0.05, 0.2)
    if layout == "ground":
        gamma = rng.uniform(0.8, 1.6)
        depth = far + (near - far) * y**gamma + 0 * x
    else:  # room: a far back wall above a floor that comes nearer, one side wall
        horizon = rng.uniform(0.3, 0.55)
        floor = far + (near - far) * np.clip((y - horizon) / (1 - horizon), 0, 1)
        depth = np.broadcast_to(floor, shape).copy()
        wall_x = rng.uniform(0.1, 0.3)
        side = far + (near - far) * np.clip((wall_x - x) / wall_x, 0, 1)
        if rng.random() < 0.5:
            side = side[:, ::-1]
        depth = np.maximum(depth, np.broadcast_to(side, shape))
    depth = depth + 0.05 * _smooth_noise(rng, shape, 4) + 0.02 * _smooth_noise(rng, shape, 12)
    return np.clip(depth, 0.0, 1.0).astype(np.float32)


def _blob(rng: np.random.Generator, shape: tuple[int, int], scale: float) -> np.ndarray:
    """A random filled ellipse covering about ``scale`` of the shorter side."""
    height, width = shape
    canvas = np.zeros(shape, np.uint8)
    axes = (
        max(3, int(rng.uniform(0.5, 1.0) * scale * min(shape))),
        max(3, int(rng.uniform(0.3, 0.8) * scale * min(shape))),
    )
    centre = (int(rng.integers(width)), int(rng.integers(height)))
    cv2.ellipse(canvas, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    return canvas.astype(bool)


def scene_depth(rng: np.random.Generator, plan: ScenePlan, alpha: np.ndarray) -> np.ndarray:
    """The scene's nearness map: background layout, the object on it, then the faults."""
    shape = alpha.shape
    depth = background_depth(rng, shape, plan.layout)
    silhouette = (alpha > 0.5).astype(np.uint8)
    if "misalignment" in plan.faults:  # the depth sensor's edge does not follow the RGB one
        dy, dx = (int(v) for v in rng.integers(-12, 13, 2))
        silhouette = np.roll(silhouette, (dy, dx), axis=(0, 1))
        kernel = np.ones((2 * int(rng.integers(2, 6)) + 1,) * 2, np.uint8)
        grow = cv2.dilate if rng.random() < 0.5 else cv2.erode
        silhouette = grow(silhouette, kernel)
    inside = silhouette.astype(bool)
    if inside.any():
        ys, _ = np.nonzero(inside)
        contact = depth[min(ys.max() + 1, shape[0] - 1)].mean()  # the ground it stands on
        lift = 0.0 if "flat_object" in plan.faults else rng.uniform(0.18, 0.35)
        relief = cv2.distanceTransform(silhouette, cv2.DIST_L2, 5)
        relief = np.sqrt(relief / max(float(relief.max()), 1.0))
        level = contact + lift + 0.08 * relief
        depth = np.where(inside, np.maximum(depth, level) if lift else depth + 0.01 * relief, depth)
        object_level = float(np.median(level[inside]))
    else:
        object_level = float(depth.mean())
    if "distractor" in plan.faults:  # a background region as near as the object
        region = _blob(rng, shape, rng.uniform(0.15, 0.3)) & ~(alpha > 0.1)
        depth = np.where(region, object_level + 0.02 * _smooth_noise(rng, shape, 6), depth)
    if "holes" in plan.faults:  # missing measurements read as 0
        for _ in range(int(rng.integers(1, 5))):
            depth = np.where(_blob(rng, shape, rng.uniform(0.04, 0.15)), 0.0, depth)
    return np.clip(depth, 0.0, 1.0).astype(np.float32)


def make_scene(plan: ScenePlan, out: Path) -> None:
    """Composite one scene and write its image, mask and depth (the image last)."""
    rng = np.random.default_rng(plan.seed)
    shape = LANDSCAPE[::-1] if plan.portrait else LANDSCAPE
    canvas = background_photo(plan.background, plan.background_mask, shape).astype(np.float32)
    obj, grey = read_image(plan.object_image), read_mask(plan.object_mask)
    if grey.shape != obj.shape[:2]:
        raise DataError(plan.object_mask, "is not the size of its image", "fix the mask")
    ys, xs = np.nonzero(grey > 128)
    if len(ys) == 0:
        raise DataError(plan.object_mask, "has no foreground", "use an image with an object")
    top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    obj, grey = obj[top:bottom, left:right], grey[top:bottom, left:right]
    factor = plan.scale * min(shape) / max(obj.shape[:2])
    factor = min(factor, 0.95 * shape[0] / obj.shape[0], 0.95 * shape[1] / obj.shape[1])
    size = (max(2, round(obj.shape[1] * factor)), max(2, round(obj.shape[0] * factor)))
    obj = cv2.resize(obj, size, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR)
    grey = cv2.resize(grey, size, interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255.0
    soft = cv2.GaussianBlur(grey, (0, 0), 1.2)  # the feathered edge
    y0 = round(plan.center[0] * (shape[0] - size[1]))
    x0 = round(plan.center[1] * (shape[1] - size[0]))
    alpha = np.zeros(shape, np.float32)
    alpha[y0 : y0 + size[1], x0 : x0 + size[0]] = soft
    pasted = np.zeros((*shape, 3), np.float32)
    pasted[y0 : y0 + size[1], x0 : x0 + size[0]] = obj
    image = alpha[..., None] * pasted + (1 - alpha[..., None]) * canvas
    image = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    depth = scene_depth(rng, plan, alpha)
    image_dir, mask_dir, depth_dir = (out / plan.set / name for name in FOLDERS[plan.set])
    write_png(mask_dir / f"{plan.stem}.png", np.where(alpha > 0.5, 255, 0).astype(np.uint8))
    write_png(depth_dir / f"{plan.stem}.png", np.rint(depth * 255).astype(np.uint8))
    ok, encoded = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 92])
    if not ok:
        raise DataError(
            image_dir / f"{plan.stem}.jpg", "could not be encoded", "re-run the command"
        )
    write_bytes(image_dir / f"{plan.stem}.jpg", encoded.tobytes())


def _scene_job(plan: ScenePlan, out: str, image: Path) -> None:
    """run_batch's job: ``image`` (written last) is the output that marks the scene done."""
    make_scene(plan, Path(out))


def _csv(rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def write_text_files(out: Path, plans: list[ScenePlan]) -> None:
    """``caption/CapS.csv``, ``tags.csv`` and ``scenes.csv`` (sources and faults) of one set."""
    folder = out / plans[0].set
    caps = [
        ["Index", "Image", "Caption", "Semantic", "Position", "SubCategory", "Category", "Source"]
    ]
    for i, p in enumerate(plans):
        caps.append(
            [i, f"{p.stem}.jpg", p.caption, _words(p.tag), p.position, p.tag, p.tag, "template"]
        )
    write_text(folder / "caption" / "CapS.csv", _csv(caps))
    write_text(folder / "tags.csv", _csv([["image", "tag"]] + [[p.stem, p.tag] for p in plans]))
    rows = [["image", "object", "background", "layout", "faults", "scale"]]
    rows += [
        [
            p.stem,
            p.object_stem,
            Path(p.background).stem,
            p.layout,
            "+".join(p.faults),
            f"{p.scale:.3f}",
        ]
        for p in plans
    ]
    write_text(folder / "scenes.csv", _csv(rows))


def make_rgbd_dataset(
    duts: str | Path,
    out: str | Path,
    coco: str | Path | None = None,
    settings: MakeRGBDSettings | None = None,
    workers: int = 1,
    progress=None,
) -> dict[str, Any]:
    """Write the synthetic RGB-D set (see the module docstring); finished scenes are kept."""
    settings = settings or MakeRGBDSettings()
    duts, out = Path(duts), Path(out)
    plans = plan_scenes(source_sets(duts, Path(coco) if coco else None), settings)
    jobs = []
    for name in SETS:
        if not plans[name]:
            continue
        image_dir = out / name / FOLDERS[name][0]
        for plan in plans[name]:
            jobs.append(Job(plan.stem, image_dir / f"{plan.stem}.jpg", (plan, str(out))))
    report = run_batch(_scene_job, jobs, workers, progress)
    if report.failed:
        name, message = report.failed[0]
        raise DataError(
            out,
            f"{len(report.failed)} scenes failed, first {name}: {message}",
            "fix or remove the source file named, then re-run (finished scenes are kept)",
        )
    for name in SETS:
        if plans[name]:
            write_text_files(out, plans[name])
    summary = {
        "sources": {"objects and backgrounds": str(duts.resolve()), "backgrounds": str(coco or "")},
        "settings": asdict(settings),
        "scenes": {name: len(plans[name]) for name in SETS},
        "written_now": len(report.done),
        "captions": "template captions (weaksal.data.make_rgbd.TEMPLATES), not human ones",
        "faults": {
            name: {s: sum(name in p.faults for p in plans[s]) for s in SETS}
            for name in asdict(settings.faults)
        },
    }
    write_json(out / "made_by.json", summary)
    return summary
