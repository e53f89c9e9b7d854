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
    """Accumulates a ``(num_classes, num_classes)`` matrix; rows = label, columns = prediction."""

    def __init__(self, num_classes: int = 21, ignore_index: int = IGNORE_INDEX):
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.matrix = np.zeros((num_classes, num_classes), dtype=np.int64)

    def update(self, pred: np.ndarray, label: np.ndarray) -> None:
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
