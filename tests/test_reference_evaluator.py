"""The graphs also run under onnx's reference evaluator and pass the checker."""

import numpy as np
import onnx
import onnx.checker
import pytest
from onnx.reference import ReferenceEvaluator

import onnxiou
from onnxiou.export import to_model
from tests import oracle

CASES = [
    (onnxiou.MeanIoU(num_classes=4, ignore_class=[255, 2]), "int64", "int64"),
    (onnxiou.MeanIoU(num_classes=4, kernel="onehot_matmul"), "int32", "uint8"),
    (onnxiou.IoU(num_classes=3, target_class_ids=[1], sparse_y_pred=False), "int64",
     "float32"),
    (onnxiou.BinaryIoU(threshold=0.25, state_dtype="int64"), "int64", "float32"),
]


def _inputs(metric, rng):
    spec = metric.spec
    y_true = rng.integers(-1, spec.num_classes + 1, size=(2, 3, 5))
    y_true[0, 0, :2] = 255
    if spec.threshold is not None:
        y_pred = rng.random((2, 3, 5)).astype(np.float32)
        labels = oracle.threshold_labels(y_pred, spec.threshold)
    elif spec.sparse_y_pred:
        y_pred = rng.integers(-1, spec.num_classes + 1, size=(2, 3, 5))
        labels = y_pred
    else:
        y_pred = rng.normal(size=(2, 3, 5, spec.num_classes)).astype(np.float32)
        labels = oracle.dense_labels(y_pred)
    return y_true, y_pred, labels


@pytest.mark.parametrize(("metric", "true_dtype", "pred_dtype"), CASES)
@pytest.mark.parametrize("kind", ["update", "result", "step"])
def test_checker_full(metric, true_dtype, pred_dtype, kind):
    model = to_model(metric, kind, y_true_dtype=true_dtype)
    onnx.checker.check_model(model, full_check=True)


@pytest.mark.parametrize(("metric", "true_dtype", "pred_dtype"), CASES)
def test_step_under_reference_evaluator(metric, true_dtype, pred_dtype):
    rng = np.random.default_rng(7)
    spec = metric.spec
    y_true, y_pred, labels = _inputs(metric, rng)
    if spec.sparse_y_pred and spec.threshold is None:
        y_pred = y_pred.astype(pred_dtype)
        labels = y_pred.astype(np.int64)
        if pred_dtype == "uint8":
            labels = y_pred.astype(np.int64)
    y_true = y_true.astype(true_dtype)
    model = to_model(metric, "step", y_true_dtype=true_dtype, y_pred_dtype=str(y_pred.dtype))
    evaluator = ReferenceEvaluator(model)
    weight = np.ones(1, dtype=spec.state_dtype)
    total_cm, result, per_class, dropped, ignored = evaluator.run(
        None,
        {
            "y_true": y_true,
            "y_pred": y_pred,
            "sample_weight": weight,
            "total_cm": spec.zero_state(),
        },
    )
    matrix, want_dropped, want_ignored = oracle.confusion(
        y_true.astype(np.int64), labels, spec.num_classes, ignore=spec.ignore_class
    )
    np.testing.assert_array_equal(total_cm, matrix)
    assert float(dropped) == want_dropped
    assert float(ignored) == want_ignored
    want_result, want_per_class = oracle.scores(matrix, spec.target_class_ids)
    assert float(result) == pytest.approx(want_result, abs=1e-6)
    np.testing.assert_allclose(per_class, want_per_class, atol=1e-6)
