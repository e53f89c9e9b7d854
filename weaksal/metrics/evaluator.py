"""Dataset-level saliency evaluation: accumulate per-image statistics, then summarise.

Per-image statistics come from :func:`weaksal.metrics.saliency.pair_stats`;
metrics are derived in batches (vectorised) and averaged here, under the
max-F convention asked for (see ``weaksal.metrics.conventions``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import numpy as np

from weaksal.metrics.saliency import (
    FAMILY,
    POOLED_THRESHOLDS,
    PairStats,
    pair_stats,
    scores_from_stats,
)
from weaksal.plumbing.parallel import worker_pool

MaxF = Literal["mean", "pooled"]
#: Metrics where smaller is better (tables mark the best accordingly).
LOWER_IS_BETTER = frozenset({"ber", "mae"})
_BATCH = 256


def pooled_fmeasure(precision: np.ndarray, recall: np.ndarray, beta2: float = 0.3) -> np.ndarray:
    """F at each threshold from dataset-mean precision and recall (MATLAB toolbox style).

    The pooled convention (``maxf="pooled"``, see ``weaksal.metrics.conventions``) averages
    precision and recall over the images first and only then combines them, as the MATLAB
    SOD toolbox and the MWS/LPS/SSNet evaluation code do; a threshold where both are 0 gets
    F = 0 instead of NaN.

    Parameters
    ----------
    precision, recall : (T,) float ndarray
        Dataset-mean precision and recall at each of T thresholds.
    beta2 : float, optional
        beta^2 of the F-measure (0.3, as every saliency paper).

    Returns
    -------
    (T,) float ndarray
        ``(1 + beta2) P R / (beta2 P + R)`` at each threshold.

    Examples
    --------
    >>> import numpy as np
    >>> pooled_fmeasure(np.array([1.0, 0.5, 0.0]), np.array([1.0, 0.5, 0.0]))
    array([1. , 0.5, 0. ])
    """
    numerator = (1 + beta2) * precision * recall
    denominator = beta2 * precision + recall
    out = np.zeros_like(numerator)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


class SaliencyEvaluator:
    """Accumulates image pairs; :meth:`results` gives the dataset numbers.

    Each pair is reduced at once to its small sufficient statistics
    (:class:`~weaksal.metrics.saliency.PairStats`), and the metrics are derived from them
    in batches, so a dataset of any size is evaluated in bounded memory and the statistics
    can come from worker processes (:meth:`add`).

    Parameters
    ----------
    beta2 : float, optional
        beta^2 of the F-measure (0.3, as every saliency paper).
    maxf : {"mean", "pooled"}, optional
        ``"mean"`` (default, PySODMetrics: max of the mean per-image F curve) or
        ``"pooled"`` (F from dataset-mean precision and recall, then max).
    thresholds : {256, 21}, optional
        256, or 21 for ``linspace(0, 1, 21)`` on the normalised map (the pooled
        convention of the MWS/LPS/SSNet code only).
    structure : bool, optional
        Also compute the S-measure and the weighted F-measure (the one metric that reads
        the pixels twice; without them, only the histogram is taken of each pair).

    Raises
    ------
    ValueError
        For an unknown ``maxf`` or ``thresholds``, or 21 thresholds with ``maxf="mean"``
        (a convention that no reference uses).

    Attributes
    ----------
    names : list of str
        The image names, in the order the pairs were added.

    Examples
    --------
    >>> import numpy as np
    >>> gt = np.zeros((8, 8), np.uint8)
    >>> gt[2:6, 2:6] = 255
    >>> evaluator = SaliencyEvaluator()
    >>> evaluator.step(gt, gt, "perfect")
    >>> results = evaluator.results()
    >>> results["images"], results["maxf"], results["mae"]
    (1, 1.0, 0.0)
    """

    def __init__(
        self, beta2: float = 0.3, maxf: MaxF = "mean", thresholds: int = 256, structure: bool = True
    ):
        if maxf not in ("mean", "pooled"):
            raise ValueError(f"maxf must be 'mean' or 'pooled', not {maxf!r}")
        if thresholds not in (256, 21):
            raise ValueError(f"thresholds must be 256 or 21, not {thresholds}")
        if thresholds == 21 and maxf != "pooled":
            raise ValueError("21 thresholds belong to the pooled convention: use maxf='pooled'")
        self.beta2, self.maxf, self.thresholds, self.structure = beta2, maxf, thresholds, structure
        self.names: list[str] = []
        self._pending: list[PairStats] = []
        self._columns: dict[str, list[np.ndarray]] = {}
        self._curve_sums = {name: np.zeros(256) for name in FAMILY}
        self._pooled_sums = {
            "precision": np.zeros(len(POOLED_THRESHOLDS)),
            "recall": np.zeros(len(POOLED_THRESHOLDS)),
        }

    def __len__(self) -> int:
        return len(self.names)

    def step(self, pred: np.ndarray, gt: np.ndarray, name: str | None = None) -> None:
        """Add one (prediction, ground truth) pair.

        Parameters
        ----------
        pred : (H, W) uint8, bool or float ndarray
            Predicted map, read as ``weaksal.metrics.conventions`` says (floats in [0, 1]).
        gt : (H, W) ndarray or GroundTruth
            Ground-truth mask, or one prepared once for several predictions
            (:func:`~weaksal.metrics.saliency.prepare_ground_truth`).
        name : str, optional
            The image's name in :attr:`names` and :meth:`per_image`; default its index.
        """
        self.add(pair_stats(pred, gt, self.structure), name)

    def add(self, stats: PairStats, name: str | None = None) -> None:
        """Add a pair's statistics computed elsewhere (e.g. in a worker process).

        Parameters
        ----------
        stats : PairStats
            What :func:`~weaksal.metrics.saliency.pair_stats` returned for the pair.
        name : str, optional
            As in :meth:`step`.
        """
        self._pending.append(stats)
        self.names.append(name if name is not None else str(len(self.names)))
        if len(self._pending) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        batch = scores_from_stats(self._pending, self.beta2, self.structure)
        self._pending = []
        for metric in FAMILY:
            self._curve_sums[metric] += batch.curves[metric].sum(axis=0)
        self._pooled_sums["precision"] += batch.pooled_precision.sum(axis=0)
        self._pooled_sums["recall"] += batch.pooled_recall.sum(axis=0)
        columns = {
            "mae": batch.mae,
            "smeasure": batch.smeasure,
            "wfmeasure": batch.wfmeasure,
            "fmeasure_max": batch.curves["fmeasure"].max(axis=1),
        }
        columns |= {f"{m}_adaptive": batch.adaptive[m] for m in FAMILY}
        columns |= {f"{m}_binary": batch.binary[m] for m in FAMILY}
        for key, values in columns.items():
            self._columns.setdefault(key, []).append(values)

    def per_image(self) -> dict[str, np.ndarray]:
        """Per-image scalars, for per-image tables and for finding the hardest images.

        Returns
        -------
        dict of str to (N,) float ndarray
            In the order of :attr:`names`: ``mae``, ``smeasure``, ``wfmeasure`` (NaN
            without ``structure``), ``fmeasure_max`` (the image's own max F), and
            ``<metric>_adaptive`` and ``<metric>_binary`` for every metric of
            :data:`~weaksal.metrics.saliency.FAMILY`.
        """
        self._flush()
        return {key: np.concatenate(parts) for key, parts in self._columns.items()}

    def results(self) -> dict:
        """The dataset numbers, under the convention the evaluator was made with.

        Returns
        -------
        dict
            ``images``; ``mae``; ``smeasure`` and ``wfmeasure`` with ``structure``; for
            every metric of :data:`~weaksal.metrics.saliency.FAMILY` a dict of
            ``adaptive``, ``binary`` (image means), ``mean``, ``max``, ``min`` and
            ``curve`` (the (256,) mean per-image curve); ``pooled``: dataset-mean
            ``precision`` and ``recall`` at the convention's thresholds, their F curve
            ``fmeasure``, its ``max`` and ``thresholds``; ``maxf``, the max-F of the
            convention; and ``convention`` itself (``maxf``, ``thresholds``, ``beta2``),
            so that every table can name it.

        Raises
        ------
        ValueError
            If no image was added.
        """
        columns = self.per_image() if self.names else {}
        n = len(self.names)
        if n == 0:
            raise ValueError("no image was evaluated")
        out: dict = {"images": n, "mae": float(columns["mae"].mean())}
        if self.structure:
            out["smeasure"] = float(columns["smeasure"].mean())
            out["wfmeasure"] = float(columns["wfmeasure"].mean())
        for metric in FAMILY:
            curve = self._curve_sums[metric] / n
            out[metric] = {
                "adaptive": float(columns[f"{metric}_adaptive"].mean()),
                "binary": float(columns[f"{metric}_binary"].mean()),
                "mean": float(curve.mean()),
                "max": float(curve.max()),
                "min": float(curve.min()),
                "curve": curve,
            }
        if self.thresholds == 21:
            precision = self._pooled_sums["precision"] / n
            recall = self._pooled_sums["recall"] / n
        else:
            precision, recall = out["precision"]["curve"], out["recall"]["curve"]
        pooled_curve = pooled_fmeasure(precision, recall, self.beta2)
        out["pooled"] = {
            "precision": precision,
            "recall": recall,
            "fmeasure": pooled_curve,
            "max": float(pooled_curve.max()),
            "thresholds": self.thresholds,
        }
        out["maxf"] = out["pooled"]["max"] if self.maxf == "pooled" else out["fmeasure"]["max"]
        out["convention"] = {"maxf": self.maxf, "thresholds": self.thresholds, "beta2": self.beta2}
        return out


def _stats_job(args: tuple) -> PairStats:
    pred, gt, structure = args
    return pair_stats(pred, gt, structure)


def evaluate_arrays(
    pairs: Iterable[tuple[str, np.ndarray, np.ndarray]],
    evaluator: SaliencyEvaluator | None = None,
    workers: int = 1,
) -> SaliencyEvaluator:
    """Evaluate ``(name, pred, gt)`` pairs, optionally across worker processes.

    Parameters
    ----------
    pairs : iterable of (str, ndarray, ndarray)
        Image name, predicted map and ground-truth mask, as :meth:`SaliencyEvaluator.step`
        takes them.
    evaluator : SaliencyEvaluator, optional
        The evaluator to add to (its convention); default a new one with the defaults.
    workers : int, optional
        Processes computing the per-pair statistics; 1 computes them here. Results are
        added in input order, so they do not depend on ``workers``.

    Returns
    -------
    SaliencyEvaluator
        ``evaluator`` with every pair added; call :meth:`~SaliencyEvaluator.results`.
    """
    evaluator = SaliencyEvaluator() if evaluator is None else evaluator
    if workers <= 1:
        for name, pred, gt in pairs:
            evaluator.step(pred, gt, name)
        return evaluator
    pairs = list(pairs)
    jobs = ((pred, gt, evaluator.structure) for _, pred, gt in pairs)
    with worker_pool(workers) as pool:
        for (name, _, _), stats in zip(
            pairs, pool.map(_stats_job, jobs, chunksize=16), strict=True
        ):
            evaluator.add(stats, name)
    return evaluator
