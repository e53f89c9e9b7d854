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
    matrix.step(pred_a, label_a)
    matrix.step(pred_b, label_b)
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
        matrix.step(np.zeros((2, 2), np.uint8), np.full((2, 2), 7, np.uint8))
    with pytest.raises(ValueError, match="differ in size"):
        matrix.step(np.zeros((2, 2), np.uint8), np.zeros((2, 3), np.uint8))


def test_step_pools_the_split_instead_of_averaging_images():
    # rows are labels, columns predictions; the 7 lies under an ignored pixel: not refused
    matrix = ConfusionMatrix(num_classes=3)
    matrix.step(np.array([[0, 1], [1, 7]]), np.array([[0, 0], [1, 255]]))
    matrix.step(np.array([[1, 2], [0, 0]]), np.array([[1, 1], [0, 0]]))
    np.testing.assert_array_equal(matrix.matrix, [[3, 1, 0], [0, 2, 1], [0, 0, 0]])
    results = matrix.results()
    # class 0: tp 3, fn 1 -> 3/4; class 1: tp 2, fp 1, fn 1 -> 2/4; class 2: only predicted -> 0
    np.testing.assert_allclose(results["iou"], [3 / 4, 2 / 4, 0])
    assert results["miou"] == pytest.approx(5 / 12)
    assert results["pixel_accuracy"] == pytest.approx(5 / 7)
    assert results["mean_accuracy"] == pytest.approx((3 / 4 + 2 / 3) / 2)  # class 2 has no pixel
    # each image alone has mIoU 1/2: the split's number is not the mean of the images'
    for pred, label in [
        ([[0, 1], [1, 7]], [[0, 0], [1, 255]]),
        ([[1, 2], [0, 0]], [[1, 1], [0, 0]]),
    ]:
        alone = ConfusionMatrix(num_classes=3)
        alone.step(np.array(pred), np.array(label))
        assert alone.results()["miou"] == pytest.approx(1 / 2)
