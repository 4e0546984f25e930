"""Reference IoU computation in plain numpy, independent of onnxiou's graphs.

It reads the documented semantics of docs/graph-contract.md and computes the
expected numbers of the golden catalogue (tools/make_golden.py). It imports
nothing from onnxiou, so a bug in the graphs or the wrapper cannot leak into
the expected values.

Decoding, pair by pair:

* sparse integer labels are class ids as they are;
* sparse float labels truncate toward zero; NaN and infinity are not finite
  and so are dropped;
* dense labels and logits take ``numpy.argmax`` over the class axis (ties
  pick the first index and the first NaN wins);
* BinaryIoU scores become class 1 where ``float32(score) >= float32(threshold)``
  and class 0 elsewhere, NaN included.

A pair whose true label is an ignored class is ignored. Otherwise it counts
in the confusion matrix when both labels are in ``[0, num_classes)``, and is
dropped when either is not.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

# Integer labels are compared as float64, which is exact up to this magnitude.
_EXACT_INT_LIMIT = 2**53


@dataclasses.dataclass(frozen=True)
class OracleConfig:
    """The parts of a metric's configuration that decide its numbers."""

    num_classes: int
    target_class_ids: tuple[int, ...]
    ignore_class: tuple[int, ...] = ()
    sparse_y_true: bool = True
    sparse_y_pred: bool = True
    axis: int = -1
    threshold: float | None = None


@dataclasses.dataclass(frozen=True)
class OracleResult:
    """Accumulated confusion matrix and scores after every batch."""

    total_cm: np.ndarray
    """float64 ``[C, C]``: rows are true classes, columns predicted classes."""
    result: float
    per_class_iou: np.ndarray
    """float64 ``[C]``, NaN where TP + FP + FN is 0."""
    dropped_weight: float
    ignored_weight: float


def sparse_classes(values: np.ndarray) -> np.ndarray:
    """Return class ids as float64, NaN where a float label is not finite."""
    if values.dtype.kind in "iu":
        if values.size and np.abs(values.astype(np.float64)).max() >= _EXACT_INT_LIMIT:
            raise ValueError(
                f"Expected integer labels below 2**53 in magnitude, got max "
                f"{np.abs(values).max()}."
            )
        return values.astype(np.float64)
    as_float = values.astype(np.float64)
    finite = np.isfinite(as_float)
    return np.where(finite, np.trunc(np.where(finite, as_float, 0.0)), np.nan)


def dense_classes(values: np.ndarray, axis: int) -> np.ndarray:
    """Return the argmax over ``axis`` as float64 class ids."""
    return np.argmax(values, axis=axis).astype(np.float64)


def threshold_classes(values: np.ndarray, threshold: float) -> np.ndarray:
    """Return 1.0 where ``float32(values) >= float32(threshold)``, else 0.0."""
    scores = values.astype(np.float32)
    return (scores >= np.float32(threshold)).astype(np.float64)


def decode_true(config: OracleConfig, y_true: np.ndarray) -> np.ndarray:
    if config.sparse_y_true:
        return sparse_classes(y_true).reshape(-1)
    return dense_classes(y_true, config.axis).reshape(-1)


def decode_pred(config: OracleConfig, y_pred: np.ndarray) -> np.ndarray:
    if config.threshold is not None:
        return threshold_classes(y_pred, config.threshold).reshape(-1)
    if config.sparse_y_pred:
        return sparse_classes(y_pred).reshape(-1)
    return dense_classes(y_pred, config.axis).reshape(-1)


def weight_per_pair(sample_weight: np.ndarray, pairs: int) -> np.ndarray:
    """Spread a 1-D weight of length 1, B or N over ``pairs`` pairs in C order."""
    weight = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
    if weight.size == 0 or pairs % weight.size:
        raise ValueError(
            f"Expected a weight whose length divides {pairs} pairs, got "
            f"length {weight.size}."
        )
    return np.repeat(weight, pairs // weight.size)


def batch_counts(
    config: OracleConfig,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    sample_weight: np.ndarray,
) -> tuple[np.ndarray, float, float]:
    """Return one batch's (confusion matrix, dropped weight, ignored weight)."""
    true_ids = decode_true(config, y_true)
    pred_ids = decode_pred(config, y_pred)
    if true_ids.size != pred_ids.size:
        raise ValueError(
            f"Expected as many true as predicted labels, got {true_ids.size} "
            f"and {pred_ids.size}."
        )
    weight = weight_per_pair(sample_weight, pred_ids.size)
    classes = config.num_classes
    ignored = np.isin(true_ids, np.array(config.ignore_class, dtype=np.float64))
    true_in_range = (true_ids >= 0) & (true_ids < classes)
    pred_in_range = (pred_ids >= 0) & (pred_ids < classes)
    counted = ~ignored & true_in_range & pred_in_range
    dropped = ~ignored & ~counted
    cells = true_ids[counted].astype(np.int64) * classes + pred_ids[counted].astype(
        np.int64
    )
    matrix = np.bincount(cells, weights=weight[counted], minlength=classes * classes)
    return (
        matrix.reshape(classes, classes),
        float(weight[dropped].sum()),
        float(weight[ignored].sum()),
    )


def iou_scores(
    total_cm: np.ndarray, target_class_ids: Sequence[int]
) -> tuple[float, np.ndarray]:
    """Return (mean IoU over present targets or 0.0, per-class IoU with NaN)."""
    matrix = total_cm.astype(np.float64)
    true_positives = np.diag(matrix)
    denominator = matrix.sum(axis=1) + matrix.sum(axis=0) - true_positives
    present = denominator > 0
    per_class = np.full(matrix.shape[0], np.nan)
    per_class[present] = true_positives[present] / denominator[present]
    targets = np.asarray(target_class_ids, dtype=np.int64)
    target_present = present[targets]
    if not target_present.any():
        return 0.0, per_class
    return float(per_class[targets][target_present].mean()), per_class


def accumulate(
    config: OracleConfig,
    batches: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
) -> OracleResult:
    """Run every ``(y_true, y_pred, sample_weight)`` batch and score the total."""
    classes = config.num_classes
    total = np.zeros((classes, classes), dtype=np.float64)
    dropped = ignored = 0.0
    for y_true, y_pred, sample_weight in batches:
        matrix, batch_dropped, batch_ignored = batch_counts(
            config, y_true, y_pred, sample_weight
        )
        total = total + matrix
        dropped += batch_dropped
        ignored += batch_ignored
    result, per_class = iou_scores(total, config.target_class_ids)
    return OracleResult(total, result, per_class, dropped, ignored)
