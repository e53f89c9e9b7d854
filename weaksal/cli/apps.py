"""The commands that show the models: ``weaksal demo``, ``weaksal serve``, ``weaksal export``."""

from __future__ import annotations

from pathlib import Path

import typer

from weaksal.cli.common import (
    app,
    console,
    export_app,
    friendly_errors,
    progress_labelled,
)


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
        " photos, then scores on the first ECSSD images (a few minutes on 2 CPU cores)",
        highlight=False,
    )
    results = run_demo(
        out,
        model,
        count,
        "lps" if promote else None,
        progress_labelled,
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


@app.command("serve")
@friendly_errors
def serve(
    host: str = typer.Option(
        "127.0.0.1",
        help="Address to listen on (0.0.0.0: every network; then it answers localhost, IP"
        " addresses and the --allow-host names).",
    ),
    port: int = typer.Option(8765, min=0, max=65535, help="Port (0: any free port)."),
    device: str = typer.Option("cpu", help="torch device: auto, cpu, cuda, cuda:1, mps."),
    max_mb: float = typer.Option(15.0, min=0.1, help="Largest upload, in MB."),
    max_pixels: int = typer.Option(40_000_000, min=1, help="Largest image, in pixels."),
    classic_pixels: int = typer.Option(
        1_000_000,
        min=1,
        help="Classical detectors run on a copy shrunk to at most this many pixels (their"
        " maps resized back): MR takes seconds per megapixel.",
    ),
    workers: int = typer.Option(
        0, min=0, help="Requests computed at once (0: one per CPU); one more gets 503, busy."
    ),
    timeout: float = typer.Option(
        30.0, min=0.1, help="Seconds a client may stay silent while sending a request."
    ),
    allow_host: list[str] = typer.Option(
        None,
        help="Also answer requests that name this host, NAME or NAME:PORT (repeat the option):"
        " the machine's name for other machines, a proxy's name. Other names get 403.",
        show_default=False,
    ),
) -> None:
    """A local web page: drop an image, compare models', classic detectors' and LPS maps."""
    from weaksal.serve import make_server

    try:
        server = make_server(
            host,
            port,
            device,
            int(max_mb * 2**20),
            max_pixels,
            classic_pixels=classic_pixels,
            workers=workers or None,
            read_timeout=timeout,
            allow_hosts=allow_host or (),
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--allow-host") from None
    bound_host, bound_port = server.server_address[:2]
    shown = "localhost" if bound_host in ("0.0.0.0", "") else bound_host
    console.print(
        f"weaksal serve: open http://{shown}:{bound_port}/ (Ctrl-C stops it)", highlight=False
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
    from weaksal.inference.export import export_onnx
    from weaksal.pretrained import resolve_model

    export_onnx(resolve_model(model), out)
    console.print(f"wrote {out}", highlight=False)
