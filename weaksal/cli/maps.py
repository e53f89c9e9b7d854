"""The commands that make maps from maps or images: promote, caption, classic, refine.

Each parses, calls the documented Python function of :mod:`weaksal.api` and prints its report."""

from __future__ import annotations

from pathlib import Path

import typer

from weaksal.cli.common import (
    app,
    console,
    err_console,
    friendly_errors,
    progress,
    report_batch,
    report_unused,
)
from weaksal.plumbing.errors import WeaksalError


@app.command("promote")
@friendly_errors
def promote(
    model: str = typer.Option("lps", help="Shipped LPS model name (lps) or an LPS model file."),
    images: Path = typer.Option(..., help="Folder of images."),
    prior: Path = typer.Option(..., help="Folder of prior saliency maps, matched by file stem."),
    out: Path = typer.Option(..., help="Where to write the promoted <stem>.png maps."),
    iters: int = typer.Option(
        3, min=1, help="Iterative-testing steps T (paper 1, released code 3)."
    ),
    regions: str = typer.Option("soft", help="soft (prior-weighted anchors) | binary."),
    threshold: float = typer.Option(0.5, min=0.0, max=1.0, help="Threshold of the binary regions."),
    batch_size: int = typer.Option(8, min=1, help="Images per forward pass."),
    device: str = typer.Option("cpu", help="torch device: cpu, cuda, cuda:1, mps."),
    bf16: bool = typer.Option(False, help="bf16 autocast (fast on recent CPUs and GPUs)."),
    gate: float = typer.Option(
        None,
        min=-1.0,
        max=1.0,
        help="Leave a prior as it was where LPS's map is not more certain than it by this much"
        " (mean |2p-1|). Default: the model's own gate, calibrated on val when it was trained.",
    ),
    gate_floor: float = typer.Option(
        None,
        min=0.0,
        max=1.0,
        help="Apply the gate only to priors at least this certain (mean |2p-1|); less certain"
        " ones are always promoted. Default: the model's own, calibrated with its gate.",
    ),
    no_gate: bool = typer.Option(False, "--no-gate", help="Promote every prior (no gate)."),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace maps that another model or setting wrote in --out."
    ),
) -> None:
    """Promote any detector's maps with LPS; resumable; shards itself across torchrun processes."""
    from weaksal.api.promote import open_promoter, promote_folder

    report_unused(images)

    if no_gate and (gate is not None or gate_floor is not None):
        raise typer.BadParameter("--gate/--gate-floor and --no-gate: give one of them")
    chosen = {"gate": None} if no_gate else ({"gate": gate} if gate is not None else {})
    if gate_floor is not None:
        chosen["gate_floor"] = gate_floor
    promoter = open_promoter(
        model,
        iterations=iters,
        regions=regions,
        threshold=threshold,
        device=device,
        bf16=bf16,
        **chosen,
    )
    if regions not in ("soft", "binary"):
        raise typer.BadParameter(f"--regions must be soft or binary, not {regions!r}")
    report = promote_folder(
        promoter, images, prior, out, batch_size, progress=progress("promote"), overwrite=overwrite
    )
    if report.missing:
        shown = ", ".join(report.missing[:5])
        more = f" and {len(report.missing) - 5} more" if len(report.missing) > 5 else ""
        err_console.print(
            f"[red]{len(report.missing)} images have no prior map in {prior}[/]: {shown}{more}",
            highlight=False,
        )
    rank, world = report.shard
    if promoter.gate is not None:
        console.print(
            f"{len(report.left_as_prior)} of {len(report.done)} priors left as they were"
            f" (LPS's map not more certain by {promoter.gate}"
            + (f", the prior at least {promoter.gate_floor} certain" if promoter.gate_floor else "")
            + ")",
            highlight=False,
        )
    report_batch(report, out, f" (shard {rank + 1}/{world})" if world > 1 else "")
    if report.missing:  # images left unpromoted: not a success
        raise typer.Exit(1)


@app.command("caption")
@friendly_errors
def caption(
    images: list[Path] = typer.Argument(..., help="Image files and/or folders of images."),
    model: str = typer.Option("mws", help="Shipped model name (mws) or an MWS PNet file."),
    device: str = typer.Option("cpu", help="torch device: auto, cpu, cuda, cuda:1, mps."),
) -> None:
    """Captions from MWS's caption network (PNet): what it learned to say about an image."""
    from weaksal.api.caption import Captioner, resolve_captioner
    from weaksal.data.imageio import read_image
    from weaksal.data.layouts import index_inputs

    samples = index_inputs(images).samples
    captioner = Captioner(resolve_captioner(model), device)
    failed = 0
    for path in (sample.image for sample in samples):
        try:
            image = read_image(path)
        except WeaksalError as exc:
            err_console.print(f"[red]failed[/] {exc}", highlight=False)
            failed += 1
            continue
        console.print(f"{path}: {captioner.captions([image])[0]}", highlight=False)
    if failed:
        raise typer.Exit(1)


@app.command("classic")
@friendly_errors
def classic(
    method: str = typer.Argument(..., help="mr | mbplus | rbd | ft | sr"),
    images: Path = typer.Option(..., help="Folder of images (or a dataset root)."),
    out: Path = typer.Option(..., help="Where to write <stem>.png maps."),
    workers: int = typer.Option(1, min=1, help="Worker processes."),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace maps that another model or setting wrote in --out."
    ),
) -> None:
    """Unsupervised saliency maps; existing outputs are kept (resumable)."""
    from weaksal.api.folders import classic_folder

    report_unused(images)
    report = classic_folder(method, images, out, workers, overwrite, progress(method))
    report_batch(report, out)


@app.command("refine")
@friendly_errors
def refine(
    method: str = typer.Argument(..., help="densecrf | itercrf | mr | threshold"),
    images: Path = typer.Option(..., help="Folder of images (or a dataset root)."),
    maps: str = typer.Option(
        ..., help="Folder of maps to refine; mr takes several, comma-separated."
    ),
    out: Path = typer.Option(..., help="Where to write <stem>.png results."),
    preset: str = typer.Option(None, help="densecrf preset: mws (default) | ssnet | jsm."),
    threshold: float = typer.Option(
        None,
        min=0.0,
        max=1.0,
        help="itercrf: starting foreground threshold (0.65); threshold: the cut (0.5).",
    ),
    output: str = typer.Option(None, help="soft | binary (default: what the refiner gives)."),
    workers: int = typer.Option(1, min=1, help="Worker processes."),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace maps that another model or setting wrote in --out."
    ),
) -> None:
    """Refine saliency maps into pseudo-labels; existing outputs are kept (resumable)."""
    from weaksal.api.folders import refine_folder

    folders = [Path(m) for m in maps.split(",") if m.strip()]
    report = refine_folder(
        method,
        images,
        folders,
        out,
        preset=preset,
        threshold=threshold,
        output=output,
        workers=workers,
        overwrite=overwrite,
        progress=progress(method),
    )
    for missing in report.missing:
        err_console.print(f"[red]skipped[/] {missing}", highlight=False)
    report_batch(report, out, f", {len(report.missing)} skipped" if report.missing else "")
    if report.missing:  # an image without its map is work not done: say so in the exit status
        raise typer.Exit(1)
