"""The commands around training: ``weaksal train``, ``logs``, ``ship`` and ``models``."""

from __future__ import annotations

from pathlib import Path

import typer

from weaksal.cli.common import app, console, err_console, friendly_errors
from weaksal.plumbing.errors import WeaksalError


@app.command("models")
@friendly_errors
def models(
    card: str = typer.Option(None, help="Show the model card of this shipped model."),
) -> None:
    """The shipped models, one line each: roles, supervision, ECSSD/SOD scores (max F pooled /
    MAE) and size (Python: ``weaksal.list_models()``, the records)."""
    from weaksal.pretrained import list_models

    if card:
        from weaksal.pretrained import read_card

        typer.echo(read_card(card))  # plain text: no wrapping, no markup
        return
    for info in list_models():
        typer.echo(info.line())
    from weaksal.api.detectors import classic_names

    typer.echo(f"classical detectors (no training): {', '.join(classic_names())}")


@app.command("train", context_settings={"allow_extra_args": False})
@friendly_errors
def train(
    arguments: list[str] = typer.Argument(
        None,
        help="[METHOD] then key.sub=value overrides (+key=value adds a key). The method is"
        " read from the config; naming it is optional.",
    ),
    config: str = typer.Option(
        None,
        help="A YAML file, or a shipped config: a method (wss, mws, lps, ssnet, jsm, reference)"
        " or method/name, e.g. wss/wss_fpn_efficientnet_lite0. Default: the named method's.",
    ),
    images: Path = typer.Option(
        None,
        help="Your own photos (WSS): a folder, with tags.csv in it or --tags; held out for"
        " validation by its split.csv, or a seeded 10% of each class.",
    ),
    tags: Path = typer.Option(None, help="With --images: their tags.csv (image,tag[,tag...])."),
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
    """Train a method; the run folder gets config, run record, logs, checkpoints and models.

    Your own photos: `weaksal train wss --images photos/ --out runs/mine` (tags in
    photos/tags.csv or --tags). The data keys each method reads (set them as
    key=value; --print-config shows every value):

    \b
      wss        data.train, data.train_split, data.val_split, data.untagged
      mws        data.tags, data.captions, data.unlabelled, data.pseudo_labels,
                 data.validation, data.min_word_count, data.max_caption_length,
                 data.untagged
      lps        data.train, data.train_split, data.val_split, data.val_limit,
                 data.on_mismatch
      reference  data.train, data.train_split, data.val_split, data.val_limit,
                 data.on_mismatch
      ssnet      data.segmentation, data.classification_split, data.val_split,
                 data.saliency, data.saliency_split, data.saliency_list
      jsm        data.train, data.val, data.test, data.train_limit
    """
    from weaksal.api.training import train as train_run
    from weaksal.engine.config import dump_config
    from weaksal.methods import resolved_training_config

    arguments = list(arguments or [])
    method = arguments.pop(0) if arguments and "=" not in arguments[0] else None
    if config is None:
        if method is None:
            raise typer.BadParameter("name the method (weaksal train wss ...) or give --config")
        config = method
    if images is not None:
        arguments = _own_data(config, images, tags, out, arguments)
    elif tags is not None:
        raise typer.BadParameter("--tags goes with --images (your photos)")
    if print_config:
        resolved = resolved_training_config(config, arguments)
        if method is not None and resolved["method"] != method:
            raise typer.BadParameter(
                f"{config} is a config for {resolved['method']!r}, not {method!r}"
            )
        typer.echo(dump_config(resolved), nl=False)
        return
    result = train_run(config, out, arguments, method=method, resume=resume, evaluate=evaluate)
    if result is None:  # a torchrun rank other than 0: rank 0 reports
        return
    for name, scores in result.scores.items():
        console.print(
            f"{name}: " + ", ".join(f"{k} {v:.4f}" for k, v in scores.items()), highlight=False
        )
    typer.echo(  # one unwrapped line: scripts read it
        f"models: {', '.join(str(p) for p in result.models)}. Use: {result.use};"
        f" ship: weaksal ship {result.run_dir} NAME"
    )
    check = result.validation
    typer.echo(
        f"validation: {check['stage']} {check['key']} {check['value']:.4f}"
        + (f" on {check['images']} held-out images" if "images" in check else "")
        if check
        else "validation: none (nothing was held out)"
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
    from weaksal.plumbing.errors import LayoutError

    views = ("csv", "tensorboard") if tensorboard else ("csv",)
    written = export_run_logs(run, views)
    if not written:
        raise LayoutError(run, "holds no metrics.jsonl", "point at a run folder of weaksal train")
    typer.echo("wrote " + ", ".join(str(p) for p in written))
    if tensorboard:
        typer.echo(f"view: tensorboard --logdir {run}")


@app.command("ship")
@friendly_errors
def ship(
    run: Path = typer.Argument(None, help="A finished run folder of `weaksal train`."),
    name: str = typer.Argument(None, help="The shipped model's name (wss, mws, lps...)."),
    description: str = typer.Option(
        None, help="One line for the model card (default: the method's)."
    ),
    card: str = typer.Option(None, metavar="NAME", help="Only rewrite this shipped model's card."),
) -> None:
    """Ship a finished run as a packaged model (or rewrite a shipped model's card)."""
    from weaksal.methods.cards import write_card
    from weaksal.methods.shipping import ship_run
    from weaksal.pretrained import pretrained_dir

    if card:
        typer.echo(f"wrote {write_card(pretrained_dir(card), card)}")
    elif run is not None and name:
        typer.echo(f"shipped {ship_run(run, name, description)}")
    else:
        raise typer.BadParameter("give RUN NAME, or --card NAME")


def _own_data(config: str, images: Path, tags: Path | None, out, arguments: list[str]) -> list[str]:
    """The overrides that train on the user's photos (``weaksal train wss --images DIR``),
    said aloud."""
    from weaksal.api.training import own_data_overrides

    try:
        overrides, view = own_data_overrides(config, images, out, arguments, tags)
    except WeaksalError as exc:
        raise typer.BadParameter(str(exc)) from None
    console.print(
        f"data: {view.train} training and {view.val} held-out images of {images}"
        f" (split: {view.split_from}; {view.root / 'split.csv'}). The rounds have no masks to"
        " validate on: the last round ships",
        highlight=False,
    )
    if view.warning:
        err_console.print(f"[yellow]warning[/]: {view.warning}", highlight=False)
    return overrides
