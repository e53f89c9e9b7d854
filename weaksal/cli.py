"""weaksal: salient object detection from weak supervision (WSS, LPS, MWS, SSNet, JSM),
classical detectors, and exact, fast evaluation.

Start with `weaksal predict photo.jpg --out maps` (shipped WSS model) or
`weaksal models`; every command is also a Python call (see the README).
"""

from __future__ import annotations

import functools
import signal
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from weaksal.errors import WeaksalError

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)


def _print_version(value: bool) -> None:
    if value:
        from weaksal import __version__

        print(f"weaksal {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Salient object detection from weak supervision, and its evaluation."""


data_app = typer.Typer(no_args_is_help=True, help="Inspect datasets.")
app.add_typer(data_app, name="data")
console = Console(width=None if sys.stdout.isatty() else 200)  # no truncated tables in logs
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 200)


def _os_fix(exc: OSError) -> str:
    import errno

    fixes = {
        errno.ENOSPC: "free disk space (or write to another disk), then run the same command to resume",
        errno.EDQUOT: "free space in your quota, then run the same command to resume",
        errno.EACCES: "make the path readable/writable for you, or choose another folder",
        errno.EPERM: "make the path readable/writable for you, or choose another folder",
        errno.EROFS: "write to a folder on a writable disk",
        errno.ENOTDIR: "a path where a folder is expected is a file: choose another path",
        errno.EISDIR: "a path where a file is expected is a folder: choose another path",
        errno.EEXIST: "a file is in the way: choose another path",
    }
    return fixes.get(exc.errno, "check the path and the disk, then run the same command again")


def friendly_errors(command):
    """Turn our own errors into one clear message and exit status 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except WeaksalError as exc:
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
            raise typer.Exit(2) from None
        except BrokenPipeError:  # `weaksal models | head`: the reader stopped, not an error
            sys.stderr.close()
            raise typer.Exit(0) from None
        except OSError as exc:  # disk full, read-only folder, permissions: name the file
            where = exc.filename or "a file"
            err_console.print(
                f"[bold red]error:[/] {where}: {exc.strerror or exc}. Fix: {_os_fix(exc)}",
                highlight=False,
            )
            raise typer.Exit(2) from None
        except ModuleNotFoundError as exc:  # a light install without this command's extra
            from weaksal.extras import missing_extra

            message = missing_extra(exc)
            if message is None:
                raise
            err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (see main)
            err_console.print(
                "[bold yellow]interrupted:[/] every file written so far is complete and kept;"
                " run the same command again to resume",
                highlight=False,
            )
            raise typer.Exit(130) from None

    return wrapper


@app.command("demo")
@friendly_errors
def demo(
    out: Path = typer.Option(Path("demo_out"), help="Where to write maps and figure.png."),
    model: list[str] = typer.Option(
        None,
        help="Shipped model names or model files (repeat the option). The default: the"
        " shipped models that beat MR on the first 20 ECSSD images (WSS, JSM, MWS;"
        " BENCHMARKS.md).",
        show_default=False,
    ),
    count: int = typer.Option(
        20, min=1, help="How many ECSSD images to score (when data is present)."
    ),
    promote: bool = typer.Option(True, help="Also show each map promoted by the shipped LPS."),
) -> None:
    """Saliency maps of real photos with MR and the shipped models, side by side."""

    from weaksal.demo import DEMO_MODELS, run_demo

    model = model or list(DEMO_MODELS)
    console.print(
        f"demo: MR and {', '.join(model)}{' with LPS promotion' if promote else ''} on five"
        " photos, then scores on the first ECSSD images (about a minute on 2 CPU cores)",
        highlight=False,
    )
    results = run_demo(
        out,
        model,
        count,
        "lps" if promote else None,
        _progress_labelled,
    )
    console.print(
        f"maps of {', '.join(results['photos'])} in {out / 'maps'};"
        f" image | detectors in {out / 'figure.png'}",
        highlight=False,
    )
    for label, scores in results["scores"].items():
        console.print(
            f"{label} on the first {scores['images']} ECSSD images: MAE {scores['mae']:.3f},"
            f" max F {scores['maxf']:.3f}, S {scores['smeasure']:.3f}",
            highlight=False,
        )
    if not results["scores"]:
        console.print(f"(no scores: {results['source']} not found)", highlight=False)


def _progress_labelled(iterable, total: int, label: str):
    """A progress bar over ``iterable`` (hidden when the output is not a terminal)."""
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=label, disable=None, leave=False)


def _progress(label: str):
    """The bar of one fixed label, as the batch runners take it: ``(iterable, total)``."""
    return lambda iterable, total: _progress_labelled(iterable, total, label)


def _report_unused(images: Path) -> None:
    """Name every entry of an input folder that will not be read, and why."""
    from weaksal.data import index_images

    for entry in index_images(images).unused():
        err_console.print(f"[yellow]not used[/] {entry.path}: {entry.reason}", highlight=False)


def _report_batch(report, out: Path, note: str = "") -> None:
    console.print(
        f"{len(report.done)} written, {len(report.kept)} kept (already in {out}),"
        f" {len(report.failed)} failed{note}",
        highlight=False,
    )
    for name, message in report.failed:
        err_console.print(f"[red]failed[/] {name}: {message}", highlight=False)
    if report.failed:
        raise typer.Exit(1)


@app.command("models")
@friendly_errors
def models(
    card: str = typer.Option(None, help="Show the model card of this shipped model."),
) -> None:
    """The shipped models, one line each (Python: ``weaksal.list_models()``)."""
    from weaksal.pretrained import list_models

    if card:
        from weaksal.pretrained import read_card

        typer.echo(read_card(card))  # plain text: no wrapping, no markup
        return
    for line in list_models():
        typer.echo(line)
    from weaksal.detectors import classic_names

    typer.echo(f"classical detectors (no training): {', '.join(classic_names())}")


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
    from weaksal.batch import Job, run_batch
    from weaksal.classic import DETECTORS
    from weaksal.classic.files import detect_file
    from weaksal.data import index_images
    from weaksal.data.output_folder import prepare_output_folder

    if method not in DETECTORS:
        raise typer.BadParameter(f"unknown method {method!r}; choose from {', '.join(DETECTORS)}")
    _report_unused(images)
    samples = list(index_images(images))
    prepare_output_folder(
        out,
        {"command": "classic", "method": method},
        [images],
        overwrite,
        [f"{s.stem}.png" for s in samples],
    )
    jobs = [Job(s.stem, out / f"{s.stem}.png", (method, s.image)) for s in samples]
    _report_batch(run_batch(detect_file, jobs, workers, _progress(method)), out)


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
    from weaksal.batch import Job, run_batch
    from weaksal.data import index_images
    from weaksal.data.layouts import files_by_stem, pair_by_stem
    from weaksal.data.output_folder import prepare_output_folder
    from weaksal.errors import LayoutError
    from weaksal.refine.refiners import REFINERS, refine_file

    if method not in REFINERS:
        raise typer.BadParameter(f"unknown method {method!r}; choose from {', '.join(REFINERS)}")
    if preset is not None:  # checked once here, not once per image in the workers
        from weaksal.refine.dense_crf import PRESETS

        if method != "densecrf":
            raise typer.BadParameter(f"--preset is a densecrf option, not {method}'s")
        if preset not in PRESETS:
            raise typer.BadParameter(
                f"unknown densecrf preset {preset!r}; choose from {', '.join(sorted(PRESETS))}"
            )
    if output not in (None, "soft", "binary"):
        raise typer.BadParameter(f"--output must be soft or binary, not {output!r}")
    options = {
        key: value
        for key, value in (("preset", preset), ("threshold", threshold))
        if value is not None
    }
    folders = [Path(m) for m in maps.split(",") if m.strip()]
    for folder in folders:
        if not folder.is_dir():
            raise LayoutError(folder, "is not a folder", "point --maps at the folder(s) of maps")
    if len(folders) > 1 and not REFINERS.get(method).several_maps:
        raise typer.BadParameter(f"{method} refines one map per image; only mr combines several")
    image_files = {s.stem: s.image for s in index_images(images)}
    others = {f"map ({folder})": files_by_stem(folder) for folder in folders}
    pairs, unpaired = pair_by_stem(image_files, others, on_bad="skip")
    for item in unpaired:
        err_console.print(f"[red]skipped[/] {item.path}: {item.reason}", highlight=False)
    producer = {
        "command": "refine",
        "method": method,
        "options": options,
        "output": output,
        "maps": [str(f.resolve()) for f in folders],
    }
    prepare_output_folder(
        out, producer, [images, *folders], overwrite, [f"{stem}.png" for stem, _ in pairs]
    )
    jobs = [
        Job(
            stem,
            out / f"{stem}.png",
            (method, output, options, image_files[stem], tuple(found.values())),
        )
        for stem, found in pairs
    ]
    report = run_batch(refine_file, jobs, workers, _progress(method))
    _report_batch(report, out, f", {len(unpaired)} skipped" if unpaired else "")
    if unpaired:  # an image without its map is work not done: say so in the exit status
        raise typer.Exit(1)


@data_app.command("info")
def data_info() -> None:
    """List the dataset layouts weaksal understands."""
    from weaksal.data import LAYOUT_TABLE

    table = Table(title="Supported layouts (folder names matched case-insensitively)")
    for column in ("layout", "folders", "what"):
        table.add_column(column)
    for row in LAYOUT_TABLE:
        table.add_row(*row)
    console.print(table)
    console.print(
        "Masks: 0/1, 0/255 or grey; binary ground truth is grey > 128. Files pair by stem."
    )


@data_app.command("make-seg")
@friendly_errors
def data_make_seg(
    source: Path = typer.Argument(
        ..., help="Tagged saliency dataset (tags.csv + split.csv), e.g. DUTS-TR-50."
    ),
    out: Path = typer.Option(..., help="Where to write the VOC-layout segmentation benchmark."),
    workers: int = typer.Option(1, min=1, help="Worker processes."),
) -> None:
    """Semantic labels = the image's tag class on its saliency mask; VOC layout (resumable)."""
    from weaksal.data.make_seg import make_segmentation_dataset

    summary = make_segmentation_dataset(source, out, workers, _progress("make-seg"))
    lists = ", ".join(f"{name} {count}" for name, count in summary["lists"].items())
    console.print(
        f"{summary['images']} label maps ({summary['label_maps_written']} written now),"
        f" {summary['classes']} labels; lists: {lists}; in {out}",
        highlight=False,
    )


@data_app.command("subset")
@friendly_errors
def data_subset(
    source: Path = typer.Argument(..., help="Tagged saliency dataset (tags.csv + split.csv)."),
    out: Path = typer.Option(..., help="Where to write the subset (symbolic links)."),
    classes: int = typer.Option(4, min=1, help="The first N tag classes (sorted)."),
    train: int = typer.Option(8, min=1, help="Training images per class."),
    val: int = typer.Option(2, min=0, help="Validation images per class."),
) -> None:
    """A small fixed subset of a tagged dataset: the data of configs/smoke (minutes to train)."""
    from weaksal.data.subset import make_subset

    counts = make_subset(source, out, classes, train, val)
    console.print(f"train {counts['train']}, val {counts['val']} images in {out}", highlight=False)


@data_app.command("make-rgbd")
@friendly_errors
def data_make_rgbd(
    source: Path = typer.Argument(
        ..., help="Tagged saliency dataset with split.csv (objects and backgrounds): DUTS-TR-50."
    ),
    out: Path = typer.Option(..., help="Where to write the synthetic RGB-D set."),
    coco: Path = typer.Option(
        None, help="A COCO tree (train2017 / val2017) of further background photos."
    ),
    train: int = typer.Option(3000, min=0, help="Training scenes."),
    val: int = typer.Option(300, min=0, help="Validation scenes."),
    test: int = typer.Option(300, min=0, help="Test scenes."),
    seed: int = typer.Option(0, help="Every scene is a function of (seed, set, index)."),
    workers: int = typer.Option(1, min=1, help="Worker processes."),
) -> None:
    """Real objects pasted on real photos, with synthetic depth and its faults (resumable)."""
    from weaksal.data.make_rgbd import MakeRGBDSettings, make_rgbd_dataset

    settings = MakeRGBDSettings(train=train, val=val, test=test, seed=seed)
    summary = make_rgbd_dataset(source, out, coco, settings, workers, _progress("make-rgbd"))
    scenes = ", ".join(f"{name} {count}" for name, count in summary["scenes"].items())
    console.print(
        f"{scenes} scenes ({summary['written_now']} written now) in {out}", highlight=False
    )


@data_app.command("check")
@friendly_errors
def data_check(
    path: Path = typer.Argument(..., help="Dataset root folder."),
    workers: int = typer.Option(0, min=0, help="Decoding processes (0: up to 4)."),
    split: str = typer.Option(None, help="VOC split list or COCO split to check."),
) -> None:
    """Decode every file of a dataset; report counts and problems (exit 1 if any)."""
    from weaksal.data.check import check_dataset

    report = check_dataset(path, workers=workers or None, split=split)
    console.print(f"[bold]{report.root}[/]: layout [cyan]{report.layout}[/]")
    table = Table(show_header=False)
    for name, count in report.counts.items():
        if count or name in ("images", "complete samples"):
            table.add_row(name, str(count))
    console.print(table)
    if report.mask_values:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(report.mask_values.items()))
        console.print(
            f"mask values: {kinds}; mean foreground fraction {report.mean_foreground:.3f}"
        )
    for title, rows in (
        ("unpaired", report.unpaired),
        ("unreadable", report.unreadable),
        ("size mismatch", report.size_mismatches),
        ("not used", report.unused),
    ):
        for path_name, reason in rows:
            console.print(f"[red]{title}[/]: {path_name}: {reason}", highlight=False)
    for warning in report.warnings:
        console.print(f"[yellow]warning[/]: {warning}")
    problems = report.problems
    if problems:
        console.print(f"[bold red]{problems} problem(s) found[/]")
        raise typer.Exit(1)
    console.print("[green]no problems found[/]")


@app.command("eval")
@friendly_errors
def evaluate(
    pred: str = typer.Option(..., help="Prediction folder(s): DIR[,DIR...] or NAME=DIR[,...]."),
    gt: str = typer.Option(
        ..., help="Dataset root(s), comma-separated, in any layout of `weaksal data info`."
    ),
    out: Path = typer.Option(None, help="Write results.{csv,md,tex,json} and curve plots here."),
    seg: bool = typer.Option(False, "--seg", help="Segmentation (index PNGs vs VOC labels): mIoU."),
    split: str = typer.Option(None, help="With --seg: the VOC split list (e.g. val)."),
    num_classes: int = typer.Option(21, min=2, help="With --seg: number of classes."),
    maxf: str = typer.Option(
        "mean", help="max-F convention: mean (PySODMetrics) or pooled (MATLAB toolbox)."
    ),
    thresholds: int = typer.Option(256, help="256, or 21 (linspace(0,1,21), with --maxf pooled)."),
    interpolation: str = typer.Option(
        "bilinear", help="Resize maps of another size: bilinear|nearest|bicubic|area."
    ),
    strict: bool = typer.Option(
        False, help="Refuse maps whose size differs from the ground truth."
    ),
    skip_missing: bool = typer.Option(
        False, help="Evaluate the images that have a prediction; report the rest."
    ),
    skip_unpaired: bool = typer.Option(
        False, help="Leave out dataset images without a mask (and masks without an image)."
    ),
    per_image: bool = typer.Option(False, help="Also write per-image scores (CSV) under --out."),
    grid: int = typer.Option(
        6, min=0, help="The report's picture grid: this many images where methods disagree most."
    ),
    workers: int = typer.Option(1, min=1, help="Worker processes."),
) -> None:
    """Evaluate predicted maps against one or more datasets (Python: ``weaksal.evaluate``).

    With --out: tables (CSV, Markdown, LaTeX, JSON), curves, and the report
    (report.html, self-contained, and report.md).
    """

    from weaksal.data.layouts import unused_entries
    from weaksal.metrics.evaluation import evaluate as evaluate_folders
    from weaksal.metrics.runner import parse_methods

    try:
        methods = parse_methods(pred)
        if not seg:
            from weaksal.metrics import SaliencyEvaluator

            SaliencyEvaluator(maxf=maxf, thresholds=thresholds)  # a bad convention: exit 2 now
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    for _, folder in methods:
        if Path(folder).is_dir():
            for entry in unused_entries(Path(folder)):
                err_console.print(
                    f"[yellow]not used[/] {entry.path}: {entry.reason}", highlight=False
                )
    evaluation = evaluate_folders(
        pred,
        gt,
        maxf=maxf,
        thresholds=thresholds,
        seg=seg,
        split=split,
        num_classes=num_classes,
        interpolation=interpolation,
        strict=strict,
        skip_missing=skip_missing,
        skip_unpaired=skip_unpaired,
        workers=workers,
        progress=_progress_labelled,
    )
    for run in evaluation.runs:
        for title, names in (
            ("missing", run.missing),
            ("extra", run.extra),
            ("resized", run.resized),
            ("unpaired (left out)", run.unpaired),
        ):
            if names:
                shown = ", ".join(names[:10]) + (
                    f" (+{len(names) - 10} more)" if len(names) > 10 else ""
                )
                err_console.print(
                    f"[yellow]{run.method} on {run.dataset}: {len(names)} {title}:[/] {shown}",
                    highlight=False,
                )
    header, rows = evaluation.table()
    convention = f" ({evaluation.convention})" if evaluation.convention else ""
    table = Table(title="Evaluation" + convention)
    for column in header:
        table.add_column(column, justify="left" if column in ("dataset", "method") else "right")
    for row in rows:
        table.add_row(*[f"{v:.4f}" if isinstance(v, float) else str(v) for v in row])
    console.print(table)
    if out:
        written = evaluation.write(out, per_image, grid)
        console.print("wrote " + ", ".join(str(p) for p in written), highlight=False)


@app.command("report")
@friendly_errors
def report(
    pred: str = typer.Option(..., help="Prediction folder(s): DIR[,DIR...] or NAME=DIR[,...]."),
    gt: str = typer.Option(..., help="Dataset root(s), comma-separated."),
    out: Path = typer.Option(..., help="Where to write report.html, report.md and pictures."),
    maxf: str = typer.Option("mean", help="max-F convention: mean (PySODMetrics) or pooled."),
    thresholds: int = typer.Option(256, help="256, or 21 (with --maxf pooled)."),
    grid: int = typer.Option(6, min=0, help="Images in the picture grid, per dataset."),
    skip_missing: bool = typer.Option(False, help="Score the images that have a prediction."),
    workers: int = typer.Option(1, min=1, help="Worker processes."),
) -> None:
    """Only the evaluation report: one self-contained HTML page (and Markdown) of the scores.

    `weaksal eval --out` writes the same report beside its tables.
    """
    from weaksal.metrics.evaluation import evaluate as evaluate_folders
    from weaksal.metrics.report_page import write_report

    try:
        evaluation = evaluate_folders(
            pred,
            gt,
            maxf=maxf,
            thresholds=thresholds,
            skip_missing=skip_missing,
            workers=workers,
            progress=_progress_labelled,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    written = write_report(evaluation, out, grid)
    typer.echo("wrote " + ", ".join(str(p) for p in written))


export_app = typer.Typer(no_args_is_help=True, help="Export trained models.")
app.add_typer(export_app, name="export")


def next_command(entry, model: Path) -> str:
    """The command that uses a method's trained model, with IMAGES / MAPS / PROMOTED for
    the user's folders: a promoter (LPS) promotes other detectors' maps, every other
    model predicts from images."""
    roles = [item.role for item in entry.shipped.values()]
    if roles and roles[0] == "promote":
        return f"weaksal promote --model {model} --images IMAGES --prior MAPS --out PROMOTED"
    return f"weaksal predict IMAGES --model {model} --out MAPS"


@app.command("train", context_settings={"allow_extra_args": False})
@friendly_errors
def train(
    arguments: list[str] = typer.Argument(
        None,
        help="[METHOD] then key.sub=value overrides (+key=value adds a key). The method is"
        " read from the config; naming it is optional.",
    ),
    config: str = typer.Option(
        ...,
        help="A YAML file, or a shipped config: a method (wss, mws, lps, ssnet, jsm, reference)"
        " or method/name, e.g. wss/wss_fpn_efficientnet_lite0.",
    ),
    out: Path = typer.Option(None, help="Run folder (default runs/<config name>)."),
    resume: bool = typer.Option(True, help="Continue from the run folder's newest checkpoint."),
    evaluate: bool = typer.Option(True, help="Score the best model on the config's benchmarks."),
    print_config: bool = typer.Option(
        False,
        "--print-config",
        help="Print the resolved config (every key: defaults, base and overrides) and exit"
        " without training.",
    ),
) -> None:
    """Train a method; the run folder gets config, run record, logs, checkpoints and models."""
    from weaksal.engine.config import dump_config, resolved_training_config
    from weaksal.methods import get_method, method_config
    from weaksal.methods.evaluation import evaluate_run, kept_model

    arguments = list(arguments or [])
    method = arguments.pop(0) if arguments and "=" not in arguments[0] else None
    path = method_config(config)
    resolved = resolved_training_config(path, arguments)
    if method is not None and resolved.get("method") != method:
        raise typer.BadParameter(
            f"{path} is a config for {resolved.get('method')!r}, not {method!r}"
        )
    if print_config:
        typer.echo(dump_config(resolved), nl=False)
        return
    entry = get_method(resolved["method"])
    run_dir = out or Path("runs") / path.stem
    entry.target(resolved, run_dir, resume)
    from weaksal.parallel import shard_from_env

    if shard_from_env()[0] != 0:  # rank 0 reports
        return
    if evaluate and resolved.get("evaluate"):
        table = evaluate_run(run_dir, resolved["evaluate"])
        for name, scores in table.items():
            console.print(
                f"{name}: " + ", ".join(f"{k} {v:.4f}" for k, v in scores.items()), highlight=False
            )
    shipped = [run_dir / item.source for item in entry.shipped.values()]
    models = [p for p in shipped if p.exists()] or [kept_model(run_dir)]
    typer.echo(  # one unwrapped line: scripts read it
        f"models: {', '.join(str(p) for p in models)}. Use: {next_command(entry, models[0])};"
        f" ship: python -m weaksal.pretrained {run_dir} NAME"
    )


@app.command("logs")
@friendly_errors
def logs(
    run: Path = typer.Argument(..., help="A run folder of `weaksal train`."),
    tensorboard: bool = typer.Option(
        False, help="Also TensorBoard event files (needs tensorboard)."
    ),
) -> None:
    """A run's training logs as CSV (and TensorBoard), rebuilt from its metrics.jsonl files."""
    from weaksal.engine.log_views import export_run_logs
    from weaksal.errors import LayoutError

    views = ("csv", "tensorboard") if tensorboard else ("csv",)
    written = export_run_logs(run, views)
    if not written:
        raise LayoutError(run, "holds no metrics.jsonl", "point at a run folder of weaksal train")
    typer.echo("wrote " + ", ".join(str(p) for p in written))
    if tensorboard:
        typer.echo(f"view: tensorboard --logdir {run}")


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
    out: Path = typer.Option(..., help="Where to write <stem>.png at each image's size."),
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
) -> None:
    """Saliency maps, masks or cut-outs of images; resumable; shards itself across torchrun.

    Python: ``weaksal.load(model)(image)``.
    """
    from weaksal.data.layouts import index_inputs
    from weaksal.detectors import load, open_segmenter
    from weaksal.predict import predict_folder
    from weaksal.render import OUTPUT_TYPES

    paths = list(inputs or []) + ([images] if images else [])
    if not paths:
        raise typer.BadParameter("give image files or folders (or --images FOLDER)")
    if output not in OUTPUT_TYPES:
        raise typer.BadParameter(f"--type must be one of {', '.join(OUTPUT_TYPES)}, not {output!r}")
    if runtime not in (None, "torch", "onnx"):
        raise typer.BadParameter(f"--runtime must be torch or onnx, not {runtime!r}")
    if task not in ("saliency", "seg"):
        raise typer.BadParameter(f"--task must be saliency or seg, not {task!r}")
    for entry in index_inputs(paths).unused():
        err_console.print(f"[yellow]not used[/] {entry.path}: {entry.reason}", highlight=False)
    if task == "seg":
        if promote:
            raise typer.BadParameter(
                "--promote promotes saliency maps; leave it out with --task seg"
            )
        detector = open_segmenter(model, device)
    else:
        detector = load(
            model, device=device, promote=promote, runtime=runtime, channels_last=channels_last
        )
        if not hasattr(detector, "maps"):
            raise WeaksalError(
                f"{model}: an LPS model promotes the maps of another detector. Fix: use"
                f" `weaksal predict --model MODEL --promote {model}` or `weaksal promote`"
            )
    report = predict_folder(
        detector,
        paths,
        out,
        batch_size,
        progress=_progress("predict"),
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
    _report_batch(report, out, f" (shard {rank + 1}/{world})" if world > 1 else "")


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
    from weaksal.promote import open_promoter, promote_folder

    _report_unused(images)

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
        promoter, images, prior, out, batch_size, progress=_progress("promote"), overwrite=overwrite
    )
    if report.missing_prior:
        shown = ", ".join(report.missing_prior[:5])
        more = f" and {len(report.missing_prior) - 5} more" if len(report.missing_prior) > 5 else ""
        err_console.print(
            f"[red]{len(report.missing_prior)} images have no prior map in {prior}[/]:"
            f" {shown}{more}",
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
    _report_batch(report, out, f" (shard {rank + 1}/{world})" if world > 1 else "")
    if report.missing_prior:  # images left unpromoted: not a success
        raise typer.Exit(1)


@app.command("caption")
@friendly_errors
def caption(
    images: list[Path] = typer.Argument(..., help="Image files and/or folders of images."),
    model: str = typer.Option("mws", help="Shipped model name (mws) or an MWS PNet file."),
    device: str = typer.Option("cpu", help="torch device: auto, cpu, cuda, cuda:1, mps."),
) -> None:
    """Captions from MWS's caption network (PNet): what it learned to say about an image."""
    from weaksal.caption import Captioner, resolve_captioner
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


@app.command("serve")
@friendly_errors
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0: every network)."),
    port: int = typer.Option(8765, min=0, max=65535, help="Port (0: any free port)."),
    device: str = typer.Option("cpu", help="torch device: auto, cpu, cuda, cuda:1, mps."),
    max_mb: float = typer.Option(15.0, min=0.1, help="Largest upload, in MB."),
    max_pixels: int = typer.Option(40_000_000, min=1, help="Largest image, in pixels."),
) -> None:
    """A local web page: drop an image, compare models', classic detectors' and LPS maps."""
    from weaksal.serve import make_server

    server = make_server(host, port, device, int(max_mb * 2**20), max_pixels)
    bound_host, bound_port = server.server_address[:2]
    console.print(
        f"weaksal serve: open http://{bound_host}:{bound_port}/ (Ctrl-C stops it)", highlight=False
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        console.print("stopped", highlight=False)
    finally:
        server.server_close()


@export_app.command("onnx")
@friendly_errors
def export_onnx_command(
    model: str = typer.Option(
        ..., help="Shipped model name (wss...) or a model file (.safetensors) of weaksal train."
    ),
    out: Path = typer.Option(..., help="Where to write the .onnx file."),
) -> None:
    """ONNX export with a dynamic batch dimension, for `predict --model FILE.onnx`."""
    from weaksal.export import export_onnx
    from weaksal.pretrained import resolve_model

    export_onnx(resolve_model(model), out)
    console.print(f"wrote {out}", highlight=False)


def _terminate(signum, frame) -> None:
    raise KeyboardInterrupt  # SIGTERM ends a run like Ctrl-C: workers stopped, files complete


def main() -> None:  # pragma: no cover - console entry
    signal.signal(signal.SIGTERM, _terminate)
    sys.exit(app())
