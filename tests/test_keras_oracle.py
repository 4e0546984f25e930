"""Keras 3 (jax backend, float32 accumulator) as a second oracle.

Only inputs Keras handles are used here: labels within range, one ignored
class, and the class axis last (Keras's result() fails for other axes).
"""

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

import onnxiou  # noqa: E402

RNG = np.random.default_rng(20261204)


def _pair(keras_metric, ours, y_true, y_pred, weight=None):
    keras_metric.update_state(y_true, y_pred, sample_weight=weight)
    ours.update_state(y_true, y_pred, sample_weight=weight)
    expected = float(np.asarray(keras_metric.result()))
    assert float(ours.result()) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("classes", [2, 5, 21])
def test_mean_iou_weighted(classes):
    y_true = RNG.integers(0, classes, size=(4, 50))
    y_pred = RNG.integers(0, classes, size=(4, 50))
    weight = RNG.random((4, 50)).astype(np.float32)
    _pair(
        keras.metrics.MeanIoU(num_classes=classes, dtype="float32"),
        onnxiou.MeanIoU(num_classes=classes),
        y_true,
        y_pred,
        weight,
    )


def test_mean_iou_ignore_class_over_batches():
    keras_metric = keras.metrics.MeanIoU(num_classes=4, ignore_class=1, dtype="float32")
    ours = onnxiou.MeanIoU(num_classes=4, ignore_class=1)
    for _ in range(3):
        y_true = RNG.integers(0, 4, size=60)
        y_pred = RNG.integers(0, 4, size=60)
        _pair(keras_metric, ours, y_true, y_pred)


def test_iou_logits():
    y_true = RNG.integers(0, 3, size=(8, 6))
    logits = RNG.normal(size=(8, 6, 3)).astype(np.float32)
    _pair(
        keras.metrics.IoU(
            num_classes=3, target_class_ids=[0, 2], sparse_y_pred=False, dtype="float32"
        ),
        onnxiou.IoU(num_classes=3, target_class_ids=[0, 2], sparse_y_pred=False),
        y_true,
        logits,
    )


@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 0.9])
def test_binary_iou(threshold):
    y_true = RNG.integers(0, 2, size=100)
    scores = RNG.random(100).astype(np.float32)
    weight = RNG.random(100).astype(np.float32)
    _pair(
        keras.metrics.BinaryIoU(threshold=threshold, dtype="float32"),
        onnxiou.BinaryIoU(threshold=threshold),
        y_true,
        scores,
        weight,
    )


def test_one_hot_iou_and_mean_iou():
    classes = 4
    y_true = np.eye(classes)[RNG.integers(0, classes, size=40)]
    y_pred = RNG.random((40, classes)).astype(np.float32)
    _pair(
        keras.metrics.OneHotIoU(
            num_classes=classes, target_class_ids=[1, 3], dtype="float32"
        ),
        onnxiou.OneHotIoU(num_classes=classes, target_class_ids=[1, 3]),
        y_true,
        y_pred,
    )
    _pair(
        keras.metrics.OneHotMeanIoU(num_classes=classes, dtype="float32"),
        onnxiou.OneHotMeanIoU(num_classes=classes),
        y_true,
        y_pred,
    )


def test_confusion_matrix_equals_keras():
    keras_metric = keras.metrics.MeanIoU(num_classes=6, dtype="float32")
    ours = onnxiou.MeanIoU(num_classes=6)
    y_true = RNG.integers(0, 6, size=500)
    y_pred = RNG.integers(0, 6, size=500)
    keras_metric.update_state(y_true, y_pred)
    ours.update_state(y_true, y_pred)
    np.testing.assert_array_equal(ours.total_cm, np.asarray(keras_metric.total_cm))


def test_sklearn_confusion_matrix():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    y_true = RNG.integers(0, 5, size=300)
    y_pred = RNG.integers(0, 5, size=300)
    weight = RNG.random(300)
    ours = onnxiou.MeanIoU(num_classes=5)
    ours.update_state(y_true, y_pred, sample_weight=weight)
    expected = sklearn_metrics.confusion_matrix(
        y_true, y_pred, labels=range(5), sample_weight=weight
    )
    np.testing.assert_allclose(ours.total_cm, expected, rtol=1e-12)
    jaccard = sklearn_metrics.jaccard_score(
        y_true, y_pred, labels=range(5), sample_weight=weight, average=None
    )
    np.testing.assert_allclose(ours.per_class_iou(), jaccard, atol=1e-6)
