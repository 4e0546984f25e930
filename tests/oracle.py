"""Independent numpy reference for the IoU metrics.

It shares no code with onnxiou: labels are decoded with numpy, the matrix
is a bincount over valid pairs, and the scores follow the formula
``TP / (TP + FP + FN)``.
"""

from __future__ import annotations

import numpy as np


def sparse_labels(values) -> np.ndarray:
    """Class ids as int64; NaN and infinite values become -1 (dropped)."""
    array = np.asarray(values)
    if array.dtype.kind == "f":
        finite = np.isfinite(array)
        out = np.full(array.shape, -1, dtype=np.int64)
        out[finite] = np.trunc(array[finite]).astype(np.int64)
        return out
    return array.astype(np.int64)


def dense_labels(values, axis: int = -1) -> np.ndarray:
    """numpy's argmax: the first maximum, and the first NaN wins."""
    return np.argmax(np.asarray(values), axis=axis).astype(np.int64)


def threshold_labels(values, threshold: float) -> np.ndarray:
    scores = np.asarray(values).astype(np.float32)
    return (scores >= np.float32(threshold)).astype(np.int64)


def confusion(
    y_true,
    y_pred,
    num_classes: int,
    weight=None,
    ignore=(),
) -> tuple[np.ndarray, float, float]:
    """Return (matrix, dropped weight, ignored weight) of decoded labels."""
    true = np.asarray(y_true, dtype=np.int64).reshape(-1)
    pred = np.asarray(y_pred, dtype=np.int64).reshape(-1)
    if weight is None:
        weights = np.ones(true.shape, dtype=np.float64)
    else:
        weights = np.broadcast_to(np.asarray(weight, np.float64), np.shape(y_pred))
        weights = weights.reshape(-1)
    ignored = np.isin(true, np.asarray(list(ignore), dtype=np.int64))
    in_range = (true >= 0) & (true < num_classes) & (pred >= 0) & (pred < num_classes)
    keep = in_range & ~ignored
    matrix = np.bincount(
        true[keep] * num_classes + pred[keep],
        weights=weights[keep],
        minlength=num_classes * num_classes,
    ).reshape(num_classes, num_classes)
    dropped = float(weights[~in_range & ~ignored].sum())
    return matrix, dropped, float(weights[ignored].sum())


def scores(matrix: np.ndarray, target_class_ids) -> tuple[float, np.ndarray]:
    """Return (mean IoU over present targets, per-class IoU with NaN)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    tp = np.diag(matrix)
    denominator = matrix.sum(axis=0) + matrix.sum(axis=1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(denominator > 0, tp / denominator, np.nan)
    targets = np.asarray(list(target_class_ids))
    present = denominator[targets] > 0
    if not present.any():
        return 0.0, per_class
    return float(per_class[targets][present].mean()), per_class
