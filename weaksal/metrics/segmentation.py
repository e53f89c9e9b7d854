"""Semantic segmentation: mean IoU from one confusion matrix over the whole split.

As PASCAL VOC defines it: pixels labelled 255 are ignored; per-class IoU is
TP / (TP + FP + FN) accumulated over every image of the split (not averaged
per image); the mean runs over classes that occur in the labels or the
predictions (a class absent from both has no IoU and is left out).
"""

from __future__ import annotations

import numpy as np

IGNORE_INDEX = 255


class ConfusionMatrix:
    """Pixel counts of (label, prediction) pairs over a split, and the VOC scores they give.

    The segmentation counterpart of :class:`~weaksal.metrics.evaluator.SaliencyEvaluator`,
    with the same verbs: :meth:`step` adds one image, :meth:`results` summarises the split.
    Only the matrix is kept, so images of any size can be added one at a time, and matrices
    made in worker processes can be summed into one (``total.matrix += other.matrix``).

    Parameters
    ----------
    num_classes : int, optional
        Number of classes, background included (21 for PASCAL VOC: background + 20).
    ignore_index : int, optional
        Label value left out of every count (255, the "void" value of VOC's label maps).

    Attributes
    ----------
    matrix : (num_classes, num_classes) int64 ndarray
        ``matrix[label, prediction]`` pixel counts: rows are labels, columns predictions.

    Examples
    --------
    Two images of a 3-class split; the 255 pixel counts nowhere, whatever is predicted there.

    >>> import numpy as np
    >>> matrix = ConfusionMatrix(num_classes=3)
    >>> matrix.step(np.array([[0, 1], [1, 2]]), np.array([[0, 0], [1, 255]]))
    >>> matrix.step(np.array([[1, 2]]), np.array([[1, 1]]))
    >>> matrix.matrix
    array([[1, 1, 0],
           [0, 2, 1],
           [0, 0, 0]])
    >>> scores = matrix.results()
    >>> scores["iou"]  # class 2 is only predicted: IoU 0, and it counts in the mean
    array([0.5, 0.5, 0. ])
    >>> round(scores["miou"], 4), scores["pixel_accuracy"]
    (0.3333, 0.6)
    """

    def __init__(self, num_classes: int = 21, ignore_index: int = IGNORE_INDEX):
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.matrix = np.zeros((num_classes, num_classes), dtype=np.int64)

    def step(self, pred: np.ndarray, label: np.ndarray) -> None:
        """Add one image's pixels to the matrix.

        Parameters
        ----------
        pred : (H, W) integer ndarray
            Predicted class of each pixel, in ``0 .. num_classes - 1``. Values under
            ignored label pixels are not counted and not checked.
        label : (H, W) integer ndarray
            Ground-truth class of each pixel, or ``ignore_index``.

        Raises
        ------
        ValueError
            If the two maps differ in size, or a label or prediction value outside the
            ignored pixels is not a class: a silently clipped or dropped value would give
            a wrong mIoU that still looks plausible.
        """
        pred = np.asarray(pred)
        label = np.asarray(label)
        if pred.shape != label.shape:
            raise ValueError(f"prediction {pred.shape} and label {label.shape} differ in size")
        valid = label != self.ignore_index
        label_valid = label[valid].astype(np.int64)
        pred_valid = pred[valid].astype(np.int64)
        if label_valid.size and label_valid.max() >= self.num_classes:
            raise ValueError(
                f"label value {label_valid.max()} is not a class of {self.num_classes}"
            )
        if pred_valid.size and (pred_valid.max() >= self.num_classes or pred_valid.min() < 0):
            raise ValueError(
                f"prediction value {pred_valid.max()} is not a class of {self.num_classes}"
            )
        self.matrix += np.bincount(
            label_valid * self.num_classes + pred_valid, minlength=self.num_classes**2
        ).reshape(self.num_classes, self.num_classes)

    def results(self) -> dict:
        """The split's scores, from the matrix accumulated so far.

        Returns
        -------
        dict
            ``miou`` (float): mean of ``iou`` over the classes that have one;
            ``iou`` ((num_classes,) float64 ndarray): TP / (TP + FP + FN) per class, NaN
            for a class absent from both labels and predictions;
            ``pixel_accuracy`` (float): fraction of counted pixels predicted right;
            ``mean_accuracy`` (float): mean over the classes present in the labels of
            the fraction of their pixels predicted right.
            Each mean is NaN when nothing was counted.
        """
        tp = np.diag(self.matrix).astype(np.float64)
        union = self.matrix.sum(axis=0) + self.matrix.sum(axis=1) - tp
        with np.errstate(invalid="ignore", divide="ignore"):
            iou = np.where(union > 0, tp / union, np.nan)
            class_accuracy = np.where(
                self.matrix.sum(axis=1) > 0, tp / self.matrix.sum(axis=1), np.nan
            )
        total = self.matrix.sum()
        return {
            "miou": float(np.nanmean(iou)) if np.isfinite(iou).any() else float("nan"),
            "iou": iou,
            "pixel_accuracy": float(tp.sum() / total) if total else float("nan"),
            "mean_accuracy": float(np.nanmean(class_accuracy))
            if np.isfinite(class_accuracy).any()
            else float("nan"),
        }
