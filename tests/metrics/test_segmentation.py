import numpy as np
import pytest
from sklearn.metrics import confusion_matrix

from weaksal.metrics.segmentation import ConfusionMatrix


def test_miou_accumulates_one_matrix_and_ignores_255():
    label_a = np.array([[0, 0, 1, 1], [2, 2, 255, 255]], np.uint8)
    pred_a = np.array([[0, 1, 1, 1], [2, 0, 2, 2]], np.uint8)
    label_b = np.array([[1, 1], [1, 0]], np.uint8)
    pred_b = np.array([[1, 1], [0, 0]], np.uint8)
    matrix = ConfusionMatrix(num_classes=4)
    matrix.update(pred_a, label_a)
    matrix.update(pred_b, label_b)
    labels = np.concatenate([label_a[label_a != 255], label_b.ravel()])
    preds = np.concatenate([pred_a[label_a != 255], pred_b.ravel()])
    np.testing.assert_array_equal(matrix.matrix, confusion_matrix(labels, preds, labels=range(4)))
    results = matrix.results()
    # class 0: tp 2, fp 2, fn 1 -> 2/5; class 1: tp 4, fp 1, fn 1 -> 4/6; class 2: tp 1, fn 1 -> 1/2
    np.testing.assert_allclose(results["iou"][:3], [2 / 5, 4 / 6, 1 / 2])
    assert np.isnan(results["iou"][3])  # absent from labels and predictions: left out of the mean
    assert results["miou"] == pytest.approx((2 / 5 + 4 / 6 + 1 / 2) / 3)
    assert results["pixel_accuracy"] == pytest.approx(7 / 10)


def test_bad_values_are_refused():
    matrix = ConfusionMatrix(num_classes=3)
    with pytest.raises(ValueError, match="not a class"):
        matrix.update(np.zeros((2, 2), np.uint8), np.full((2, 2), 7, np.uint8))
    with pytest.raises(ValueError, match="differ in size"):
        matrix.update(np.zeros((2, 2), np.uint8), np.zeros((2, 3), np.uint8))
