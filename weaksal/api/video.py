"""Maps of a video, frame by frame: ``weaksal predict clip.mp4 --type overlay --out out.mp4``.

Frames are decoded and the result encoded with OpenCV (its FFmpeg build reads
MP4, AVI, MOV, MKV, WebM and writes MP4). Each frame's output is first a PNG in
a frames folder (``out`` itself when it is a folder, else a hidden
``.<out>.frames`` beside the video), so an interrupted run resumes at the first
missing frame and the video is encoded, atomically, once every frame exists.
``--type rgba`` keeps its alpha only as PNG frames (MP4 has no alpha channel), so
it writes a folder.

Temporal smoothing (``smooth`` = w in [0, 1)): each map is ``w * previous +
(1 - w) * current`` (an exponential moving average), which steadies maps that
flicker between frames; :attr:`VideoReport.change_raw` and
:attr:`VideoReport.change` (the mean absolute change between consecutive maps,
before and after smoothing) measure what it did.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from weaksal.plumbing.errors import WeaksalError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
MAPS = "maps"  # the frames folder's sub-folder of (smoothed) maps, what a resumed run reads


@dataclass
class VideoReport:
    """What :func:`predict_video` did: frames in the video, frames computed now and kept, the
    result, and the mean frame-to-frame change of the maps computed now (raw, smoothed)."""

    frames: int
    done: int
    kept: int
    out: Path
    change_raw: float | None
    change: float | None


def is_video(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def predict_video(
    detector,
    video: str | Path,
    out: str | Path,
    output: str = "map",
    threshold: float | None = None,
    smooth: float = 0.0,
    batch_size: int = 8,
    overwrite: bool = False,
    progress: Callable | None = None,
) -> VideoReport:
    """Render every frame of ``video`` as ``output`` (map, mask, overlay, rgba) into ``out``.

    Parameters
    ----------
    detector : Detector
        Any saliency detector (:func:`weaksal.load`).
    video : str or Path
        The video file.
    out : str or Path
        A video file (``.mp4``...) or a folder of PNG frames (``frame_000001.png``...).
    output, threshold
        As ``weaksal predict --type`` and ``--threshold``.
    smooth : float
        The weight of the previous map in the moving average (0: none).
    batch_size : int
        Frames per forward pass.
    overwrite : bool
        Replace frames another detector or setting wrote.
    progress : callable, optional
        ``progress(iterable, total)`` over the frames.

    Returns
    -------
    VideoReport
    """
    import cv2

    from weaksal.data.imageio import read_prediction
    from weaksal.data.output_folder import prepare_output_folder
    from weaksal.data.render import OUTPUT_TYPES, render
    from weaksal.plumbing.atomic import write_png

    video, out = Path(video), Path(out)
    if output not in OUTPUT_TYPES:
        raise WeaksalError(f"--type {output}: unknown. Fix: one of {', '.join(OUTPUT_TYPES)}")
    if not 0.0 <= smooth < 1.0:
        raise WeaksalError(f"--smooth {smooth}: not in [0, 1). Fix: 0 (off) to 0.9")
    to_file = is_video(out)
    if to_file and output == "rgba":
        raise WeaksalError(
            f"{out}: MP4 keeps no alpha channel. Fix: --out FOLDER writes the rgba frames as PNGs"
        )
    capture = cv2.VideoCapture(str(video))
    if not capture.isOpened():
        raise WeaksalError(f"{video}: cannot read it as a video. Fix: pass an MP4/AVI/MOV/MKV file")
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    frames_dir = out.with_name(f".{out.name}.frames") if to_file else out
    producer = {
        "command": "predict video",
        **detector.identity(),
        "output": output,
        "threshold": threshold,
        "smooth": smooth,
        "video": str(video.resolve()),
    }
    names = [frame_name(i) for i in range(total)]
    frames_dir = prepare_output_folder(frames_dir, producer, [video], overwrite, names)
    (frames_dir / MAPS).mkdir(exist_ok=True)
    previous: np.ndarray | None = None
    raw_previous: np.ndarray | None = None
    changes, raw_changes = [], []
    done = kept = count = 0
    batch: list[tuple[int, np.ndarray]] = []
    ticks = iter(progress(range(total), total)) if progress else iter(())

    def flush() -> None:
        nonlocal previous, raw_previous, done
        maps = detector.maps([rgb for _, rgb in batch])
        for (index, rgb), saliency in zip(batch, maps, strict=True):
            if raw_previous is not None:
                raw_changes.append(float(np.abs(saliency - raw_previous).mean()))
            raw_previous = saliency
            if smooth and previous is not None:
                saliency = smooth * previous + (1.0 - smooth) * saliency
            if previous is not None:
                changes.append(float(np.abs(saliency - previous).mean()))
            previous = saliency
            write_png(
                frames_dir / MAPS / frame_name(index), np.round(saliency * 255).astype(np.uint8)
            )
            write_png(frames_dir / frame_name(index), render(output, rgb, saliency, threshold))
            done += 1
            next(ticks, None)
        batch.clear()

    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        index, count = count, count + 1
        if (frames_dir / frame_name(index)).exists() and (
            frames_dir / MAPS / frame_name(index)
        ).exists():
            kept += 1  # a resumed run: this frame is finished; its map seeds the smoothing
            previous = read_prediction(frames_dir / MAPS / frame_name(index)) / np.float32(255)
            raw_previous = None
            next(ticks, None)
            continue
        batch.append((index, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    capture.release()
    for _ in ticks:
        pass
    if to_file:
        _encode(frames_dir, count, out, fps, video)
    return VideoReport(
        count, done, kept, out if to_file else frames_dir, _mean(raw_changes), _mean(changes)
    )


def _encode(frames_dir: Path, count: int, out: Path, fps: float, video: Path) -> None:
    """The frames as an MP4 at ``out``, renamed into place once complete (the encoder needs
    the container's suffix, so the partial file is ``encoding.mp4`` in the frames folder)."""
    import cv2

    first = cv2.imread(str(frames_dir / frame_name(0)))
    if first is None:
        raise WeaksalError(f"{video}: no frame could be read. Fix: check the file")
    height, width = first.shape[:2]
    partial = frames_dir / f"encoding{out.suffix}"
    writer = cv2.VideoWriter(str(partial), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    for index in range(count):
        writer.write(cv2.imread(str(frames_dir / frame_name(index))))
    writer.release()
    partial.replace(out)


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def frame_name(index: int) -> str:
    return f"frame_{index + 1:06d}.png"
