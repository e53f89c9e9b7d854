"""``weaksal predict``: maps, masks, cut-outs and overlays of images, a folder, standard input
or a video; it parses, calls :mod:`weaksal.api.predict` / :mod:`weaksal.api.video`, prints."""

from __future__ import annotations

from pathlib import Path

import typer

from weaksal.cli.common import app, console, err_console, friendly_errors, progress, report_batch
from weaksal.plumbing.errors import WeaksalError


@app.command("predict")
@friendly_errors
def predict(
    inputs: list[Path] = typer.Argument(None, help="Image files and/or folders of images."),
    model: str = typer.Option(
        "wss",
        help="Shipped model (`weaksal models`), classical detector (mr, rbd...), or a model file:"
        " .safetensors (torch) or .onnx (ONNX Runtime).",
    ),
    images: Path = typer.Option(None, help="Folder of images (same as giving it as an argument)."),
    out: str = typer.Option(
        None,
        help="Where to write <stem>.png at each image's size (default: a folder <input>-<type>"
        " beside the first input); `-` writes one image's PNG to standard output.",
    ),
    output: str = typer.Option(
        "map",
        "--type",
        help="map (grey) | mask (0/255) | rgba (cut-out, map as alpha) | overlay (for looking).",
    ),
    threshold: float = typer.Option(
        None, min=0.0, max=1.0, help="Cut for mask (default 0.5); rgba/overlay use the mask then."
    ),
    promote: str = typer.Option(
        None, help="Promote every map with an LPS model (shipped: lps) before writing it."
    ),
    batch_size: int = typer.Option(8, min=1, help="Images per forward pass."),
    runtime: str = typer.Option(
        None, help="torch | onnx (default: onnx for .onnx files, else torch)."
    ),
    device: str = typer.Option("cpu", help="torch device: auto, cpu, cuda, cuda:1, mps."),
    channels_last: bool = typer.Option(False, help="channels_last memory format (torch runtime)."),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace maps that another model or setting wrote in --out."
    ),
    task: str = typer.Option(
        "saliency",
        help="saliency | seg: class-index palette PNGs + legend.csv (segmentation models: ssnet).",
    ),
    smooth: float = typer.Option(
        0.0,
        min=0.0,
        max=0.99,
        help="Videos: weight of the previous frame's map in a moving average (0: off).",
    ),
) -> None:
    """Saliency maps, masks or cut-outs of images or a video; resumable; shards across torchrun.

    Python: ``weaksal.load(model)(image)``.
    """
    from weaksal.api.detectors import load
    from weaksal.api.predict import predict_folder
    from weaksal.api.video import is_video, predict_video
    from weaksal.data.layouts import index_inputs
    from weaksal.data.render import OUTPUT_TYPES

    paths = list(inputs or []) + ([images] if images else [])
    if not paths:
        raise typer.BadParameter("give image files or folders (or --images FOLDER), or - for stdin")
    if output not in OUTPUT_TYPES:
        raise typer.BadParameter(f"--type must be one of {', '.join(OUTPUT_TYPES)}, not {output!r}")
    if runtime not in (None, "torch", "onnx"):
        raise typer.BadParameter(f"--runtime must be torch or onnx, not {runtime!r}")
    if task not in ("saliency", "seg"):
        raise typer.BadParameter(f"--task must be saliency or seg, not {task!r}")
    if len(paths) == 1 and is_video(paths[0]):
        if task == "seg":
            raise typer.BadParameter("--task seg writes class maps of images, not of videos")
        detector = load(model, device=device, promote=promote, runtime=runtime)
        target = Path(out) if out is not None else default_output(paths[0], output)
        if output != "rgba" and out is None:
            target = target.with_suffix(".mp4")
        video = predict_video(
            detector, paths[0], target, output, threshold, smooth, batch_size, overwrite,
            progress("frames"),
        )  # fmt: skip
        change = ""
        if video.change_raw is not None and video.change is not None and video.kept == 0:
            change = (
                f"; mean frame-to-frame change of the maps {video.change_raw:.4f} raw,"
                f" {video.change:.4f} as written (--smooth {smooth})"
            )
        console.print(
            f"{video.frames} frames ({video.done} computed now, {video.kept} kept) in"
            f" {video.out}{change}",
            highlight=False,
        )
        return
    streamed = [str(p) for p in paths] == ["-"] or out == "-"
    if not streamed:
        for entry in index_inputs(paths).unused():
            err_console.print(f"[yellow]not used[/] {entry.path}: {entry.reason}", highlight=False)
    detector = load(
        model,
        task=task,
        device=device,
        promote=promote,
        runtime=runtime,
        channels_last=channels_last,
    )
    if not hasattr(detector, "maps"):
        raise WeaksalError(
            f"{model}: an LPS model promotes the maps of another detector. Fix: use"
            f" `weaksal predict --model MODEL --promote {model}` or `weaksal promote`"
        )
    if streamed:  # one image: from a file or standard input, to a file or standard output
        from weaksal.api.predict import predict_stream

        predict_stream(detector, paths, out, output, threshold)
        return
    out = Path(out) if out is not None else default_output(paths[0], output)
    report = predict_folder(
        detector,
        paths,
        out,
        batch_size,
        progress=progress("predict"),
        overwrite=overwrite,
        output=output,
        threshold=threshold,
    )
    rank, world = report.shard
    if promote and report.done:
        console.print(
            f"{len(report.left_as_prior)} of {len(report.done)} maps left as the detector made"
            " them (the LPS gate: promotion not more certain)",
            highlight=False,
        )
    report_batch(report, out, f" (shard {rank + 1}/{world})" if world > 1 else "")


def default_output(first: Path, output: str) -> Path:
    """``<input>-<type>`` beside the first input (``photos/`` -> ``photos-rgba/``), said aloud."""
    first = Path(first)
    folder = first.parent / f"{first.stem if first.is_file() else first.name}-{output}"
    console.print(f"writing to {folder} (--out chooses another folder)", highlight=False)
    return folder
