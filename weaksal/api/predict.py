"""``weaksal predict``: saliency maps for images and folders, batched, resumable, shardable.

Maps are written as 8-bit PNG at each image's original size, named by stem
(or, with ``--type``, masks, cut-outs or overlays: :mod:`weaksal.data.render`).
With ``--task seg`` a segmentation model (SSNet) writes class-index palette
PNGs (VOC colours) and ``legend.csv`` names each index.
An existing output is a finished image and is kept, so an interrupted run
resumes, when the folder's run record shows the same model and settings made
it (otherwise the run is refused: ``--overwrite`` or another folder). Under ``torchrun`` (``RANK``/``WORLD_SIZE`` set) each process takes
every ``WORLD_SIZE``-th image. Unreadable images are reported by name and the
others go on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from weaksal.api.folders import FolderReport
from weaksal.data.imageio import read_image
from weaksal.data.layouts import index_inputs
from weaksal.data.output_folder import prepare_output_folder
from weaksal.data.render import OUTPUT_TYPES, encode_png, render
from weaksal.data.voc import voc_colormap
from weaksal.plumbing.atomic import write_palette_png, write_png, write_text
from weaksal.plumbing.errors import WeaksalError
from weaksal.plumbing.parallel import shard_from_env


def predict_folder(
    detector,
    images: str | Path | Sequence[str | Path],
    out: str | Path,
    batch_size: int = 8,
    shard: tuple[int, int] | None = None,
    progress: Callable | None = None,
    overwrite: bool = False,
    output: str = "map",
    threshold: float | None = None,
) -> FolderReport:
    """Write ``out/<stem>.png`` for every image this shard owns, rendered as ``output``.

    ``detector``: a :class:`weaksal.api.detectors.Detector` (network, classical,
    promoted) or a :class:`weaksal.api.detectors.Segmenter`; ``images``: a folder,
    an image file, or a list of both; ``output``: ``map`` | ``mask`` | ``rgba``
    | ``overlay`` (:mod:`weaksal.data.render`). Maps already in ``out`` are kept only
    when its run record names the same detector and settings (see
    :mod:`weaksal.data.output_folder`).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if output not in OUTPUT_TYPES:
        raise WeaksalError(f"--type {output}: unknown. Fix: one of {', '.join(OUTPUT_TYPES)}")
    segmenting = detector.output == "classes"
    if segmenting and output != "map":
        raise WeaksalError("--task seg writes class maps. Fix: leave out --type")
    if segmenting and threshold is not None:
        raise WeaksalError(
            "--threshold cuts saliency maps; --task seg writes class maps. Fix: leave it out"
        )
    inputs = [images] if isinstance(images, (str, Path)) else list(images)
    rank, world = shard if shard is not None else shard_from_env()
    samples = index_inputs(inputs).samples[rank::world]
    producer = {"command": "predict", **detector.identity()}
    if output != "map" or threshold is not None:  # the map alone keeps its record as it was
        producer |= {"output": output, "threshold": threshold}
    out = prepare_output_folder(
        out, producer, inputs, overwrite, [f"{s.stem}.png" for s in samples]
    )
    report = FolderReport(shard=(rank, world))
    todo = []
    for sample in samples:
        (report.kept if (out / f"{sample.stem}.png").exists() else todo).append(sample)
    report.kept = [s.stem for s in report.kept]
    chunks = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]
    # Decoding the next batch and writing the last one's PNGs run on I/O threads while the
    # network computes (PIL and OpenCV release the GIL there); writes stay atomic, and a
    # map counts as done only once its file is complete.
    # The bar counts images, not batches: one tick per image of a batch once it is computed.
    ticks = iter(progress(range(len(todo)), len(todo))) if progress else iter(())
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="predict-io") as pool:
        reading = pool.submit(_read_chunk, chunks[0]) if chunks else None
        writing: list[tuple[str, Future]] = []
        for number, chunk in enumerate(chunks):
            loaded, arrays, failed = reading.result()
            if number + 1 < len(chunks):
                reading = pool.submit(_read_chunk, chunks[number + 1])
            report.failed += failed
            if segmenting and loaded:
                for sample, labels in zip(loaded, detector.maps(arrays), strict=True):
                    path = out / f"{sample.stem}.png"
                    future = pool.submit(write_palette_png, path, labels, voc_colormap())
                    writing.append((sample.stem, future))
            elif loaded:
                maps = detector.maps(arrays)
                for sample, image, saliency in zip(loaded, arrays, maps, strict=True):
                    path = out / f"{sample.stem}.png"
                    future = pool.submit(_write_rendered, path, output, image, saliency, threshold)
                    writing.append((sample.stem, future))
                left = detector.left
                report.left_as_prior += [
                    s.stem for s, kept in zip(loaded, left, strict=False) if kept
                ]
            for _ in chunk:
                next(ticks, None)
            while len(writing) > 2 * batch_size:  # bound the maps held in memory
                _finish_write(writing.pop(0), report)
        for entry in writing:
            _finish_write(entry, report)
        for _ in ticks:  # a bar ends at its total, then closes
            pass
    if segmenting:
        write_legend(out, detector.names)
    return report


def _read_chunk(chunk) -> tuple[list, list[np.ndarray], list[tuple[str, str]]]:
    """Decode a batch's images: (samples read, their arrays, (name, error) of the others)."""
    loaded, arrays, failed = [], [], []
    for sample in chunk:
        try:
            arrays.append(read_image(sample.image))
            loaded.append(sample)
        except WeaksalError as exc:
            failed.append((sample.image.name, str(exc)))
    return loaded, arrays, failed


def _write_rendered(path: Path, output: str, image, saliency, threshold) -> None:
    write_png(path, render(output, image, saliency, threshold))


def _finish_write(entry: tuple[str, Future], report: FolderReport) -> None:
    stem, future = entry
    future.result()  # a failed write (disk full...) raises here, in order
    report.done.append(stem)


def write_legend(out: Path, names: list[str]) -> None:
    """``legend.csv``: index, class name and palette colour of every label of the maps."""
    import csv
    import io

    colours = voc_colormap()
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["index", "name", "colour"])
    for index, name in enumerate(names):
        writer.writerow([index, name, "#" + "".join(f"{c:02x}" for c in colours[index])])
    write_text(out / "legend.csv", text.getvalue())


def predict_stream(detector, inputs, out: str | None, output: str, threshold: float | None) -> None:
    """One image from a file or standard input (``-``) to a PNG file or standard output (``-``):
    ``weaksal predict - --type rgba < photo.jpg > cut.png``."""
    import sys

    from weaksal.data.inputs import as_rgb
    from weaksal.plumbing.atomic import write_bytes

    if len(inputs) != 1:
        raise WeaksalError(
            f"{len(inputs)} inputs with standard input or output: one image only."
            " Fix: give one image, or a folder with --out FOLDER"
        )
    source = str(inputs[0])
    if source == "-":
        data = sys.stdin.buffer.read()
        if not data:
            raise WeaksalError("standard input is empty. Fix: pipe an image file into it")
        try:
            image = as_rgb(data)
        except ValueError as exc:
            raise WeaksalError(f"standard input: {exc}") from None
    else:
        image = read_image(source)
    if detector.output == "classes":
        from weaksal.data.voc import voc_colormap

        png = encode_png(detector.maps([image])[0], voc_colormap())
    else:
        png = encode_png(render(output, image, detector.maps([image])[0], threshold))
    if out in (None, "-"):
        sys.stdout.buffer.write(png)
        sys.stdout.buffer.flush()
    else:
        write_bytes(out, png)
