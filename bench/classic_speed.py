"""Per-image time of the classical toolbox on ECSSD (median, one process).

SLIC alone; MR in total (SLIC + graph + ranking); MB+; RBD; the dense CRF with
the ``mws`` preset through weaksal and through pydensecrf directly (the
reference: the same unaries, kernels and steps); the iterative CRF alone (on
precomputed superpixels) and with its SLIC.

    python bench/classic_speed.py [--images 60]
"""

from __future__ import annotations

import argparse
import statistics
import time

import cv2
import numpy as np
import pydensecrf.densecrf as dcrf

from weaksal.classic.mbplus import mbplus
from weaksal.classic.mr import manifold_ranking_saliency
from weaksal.classic.rbd import rbd
from weaksal.classic.superpixels import slic_superpixels
from weaksal.data import index_saliency, read_image
from weaksal.plumbing.paths import data_root
from weaksal.refine.dense_crf import refine_saliency
from weaksal.refine.iterative_crf import iterative_crf


def direct_crf(image: np.ndarray, probability: np.ndarray) -> np.ndarray:
    model = dcrf.DenseCRF2D(image.shape[1], image.shape[0], 2)
    unary = -np.log(np.clip(np.stack([1 - probability, probability]), 1e-8, 1.0))
    model.setUnaryEnergy(np.ascontiguousarray(unary.reshape(2, -1), np.float32))
    model.addPairwiseGaussian(sxy=3, compat=3)
    model.addPairwiseBilateral(sxy=80, srgb=13, rgbim=np.ascontiguousarray(image), compat=10)
    return np.asarray(model.inference(5)).reshape(2, *probability.shape).argmax(0)


def median_ms(function, inputs) -> float:
    times = []
    for arguments in inputs:
        start = time.perf_counter()
        function(*arguments)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=60)
    args = parser.parse_args()
    samples = list(index_saliency(data_root() / "ECSSD"))[:: max(1, 1000 // args.images)][
        : args.images
    ]
    images = [read_image(s.image) for s in samples]
    maps = [manifold_ranking_saliency(image) for image in images]
    probabilities = [m.astype(np.float32) / 255 for m in maps]
    rows = [
        ("SLIC, 200 segments", median_ms(slic_superpixels, [(im,) for im in images])),
        ("MR total", median_ms(manifold_ranking_saliency, [(im,) for im in images])),
    ]
    rows.append(("MB+", median_ms(mbplus, [(im,) for im in images])))
    rows.append(("RBD", median_ms(rbd, [(im,) for im in images])))
    rows.append(
        (
            "dense CRF mws: pydensecrf directly",
            median_ms(direct_crf, list(zip(images, probabilities, strict=True))),
        )
    )
    rows.append(
        (
            "dense CRF mws: weaksal",
            median_ms(
                lambda im, m: refine_saliency(im, m, "mws"), list(zip(images, maps, strict=True))
            ),
        )
    )
    labels = [slic_superpixels(im, 500, 20) for im in images]
    given = list(zip(images, maps, labels, strict=True))
    rows.append(
        (
            "iterative CRF (given superpixels)",
            median_ms(lambda im, m, lab: iterative_crf(im, m, labels=lab), given),
        )
    )
    rows.append(
        ("iterative CRF with SLIC", median_ms(iterative_crf, list(zip(images, maps, strict=True))))
    )
    print(f"{len(images)} ECSSD images, OpenCV threads {cv2.getNumThreads()}")
    print("| step | median ms / image |\n|---|---|")
    for name, ms in rows:
        print(f"| {name} | {ms:.1f} |")


if __name__ == "__main__":
    main()
