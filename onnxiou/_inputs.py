"""Validate and normalize one ``update_state`` call before any graph runs.

Everything that can be wrong with a batch is caught here, so a rejected
update raises before the state is touched.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from onnxiou._spec import MetricSpec

# Element types the graphs take natively; other inputs are converted first.
LABEL_DTYPES = ("int64", "int32", "uint8", "float32", "float64")
SCORE_DTYPES = ("float32", "float16", "float64", "int64", "int32", "uint8")


@dataclasses.dataclass(frozen=True)
class Batch:
    """A validated batch, in the element types the graphs take."""

    y_true: np.ndarray
    y_pred: np.ndarray
    sample_weight: np.ndarray
    label_shape: tuple[int, ...]
    """Shape of the decoded predictions; ``sample_weight`` is 1-D of length
    1, ``label_shape[0]`` or the number of pairs."""

    @property
    def size(self) -> int:
        return math.prod(self.label_shape)


def _to_numeric(name: str, value: Any) -> np.ndarray:
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as error:
        raise TypeError(
            f"Expected argument `{name}` to be an array of numbers, but could "
            f"not convert {type(value).__name__}: {error}"
        ) from None
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"Expected argument `{name}` to hold numbers (bool, int or float), "
            f"but got dtype {array.dtype}."
        )
    if array.dtype.kind == "b":
        array = array.view(np.uint8)
    return array


def _native(array: np.ndarray, allowed: tuple[str, ...]) -> np.ndarray:
    """Return ``array`` in a graph element type, converting only if needed."""
    if array.dtype.name in allowed:
        return array
    if array.dtype.kind == "f":
        return array.astype(np.float64)
    return array.astype(np.int64)


def _decoded_shape(name: str, array: np.ndarray, sparse: bool, axis: int) -> tuple:
    if sparse:
        return array.shape
    if array.ndim == 0 or not -array.ndim <= axis < array.ndim:
        raise ValueError(
            f"Expected argument `{name}` to have an axis {axis} holding the "
            f"classes (dense input, argmax over axis), but got shape {array.shape}."
        )
    shape = list(array.shape)
    del shape[axis]
    return tuple(shape)


def _squeezed(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(dim for dim in shape if dim != 1)


def _check_same_pixels(true_shape: tuple, pred_shape: tuple) -> None:
    if true_shape == pred_shape or _squeezed(true_shape) == _squeezed(pred_shape):
        return
    raise ValueError(
        "Expected `y_true` and `y_pred` to label the same elements, but their "
        f"label shapes are {true_shape} and {pred_shape} (after the argmax of "
        "dense inputs). If y_pred holds probabilities or logits, pass "
        "sparse_y_pred=False; if y_true is one-hot, pass sparse_y_true=False."
    )


def _aligned_weight_shape(weight: np.ndarray, label_shape: tuple) -> tuple:
    """The weight's shape padded with ones to the labels' rank."""
    rank = len(label_shape)
    per_sample = weight.ndim == 1 and rank >= 2 and weight.shape[0] == label_shape[0]
    if per_sample:
        return (weight.shape[0],) + (1,) * (rank - 1)
    return (1,) * (rank - weight.ndim) + weight.shape


def _check_weight(weight: np.ndarray, label_shape: tuple, state_dtype: str) -> None:
    aligned = _aligned_weight_shape(weight, label_shape)
    try:
        broadcast = np.broadcast_shapes(aligned, label_shape)
    except ValueError:
        broadcast = None
    if weight.ndim > len(label_shape) or broadcast != tuple(label_shape):
        samples = label_shape[0] if label_shape else "B"
        raise ValueError(
            "Expected argument `sample_weight` to be a scalar, broadcastable to "
            f"the label shape {tuple(label_shape)}, or 1-D of length {samples} "
            f"(one weight per sample), but got shape {weight.shape}."
        )
    if weight.dtype.kind == "f" and not np.isfinite(weight).all():
        raise ValueError(
            "Expected argument `sample_weight` to be finite, but it holds NaN or "
            "infinity."
        )
    if state_dtype == "int64" and weight.dtype.kind == "f":
        if not np.array_equal(weight, np.trunc(weight)):
            raise ValueError(
                "Expected argument `sample_weight` to hold whole numbers with "
                "state_dtype='int64', but got fractional weights; use "
                "state_dtype='float64' for fractional weights."
            )


def _flatten_weight(weight: np.ndarray, label_shape: tuple) -> np.ndarray:
    """Reduce a validated weight to the graphs' 1-D form: length 1, B or N."""
    if weight.size == 1:
        return weight.reshape(1)
    aligned = _aligned_weight_shape(weight, label_shape)
    if aligned == tuple(label_shape):
        return weight.reshape(-1)
    if all(dim == 1 for dim in aligned[1:]):
        return weight.reshape(-1)
    return np.broadcast_to(weight.reshape(aligned), label_shape).reshape(-1)


def prepare_weight(value: Any, label_shape: tuple, state_dtype: str) -> np.ndarray:
    """Validate ``sample_weight`` and return it 1-D in the state dtype."""
    if value is None:
        return np.ones(1, dtype=state_dtype)
    weight = _to_numeric("sample_weight", value)
    _check_weight(weight, label_shape, state_dtype)
    return np.ascontiguousarray(_flatten_weight(weight, label_shape), dtype=state_dtype)


def prepare_batch(spec: MetricSpec, y_true: Any, y_pred: Any, sample_weight: Any) -> Batch:
    """Validate one batch against ``spec`` and convert it for the graphs."""
    true_array = _to_numeric("y_true", y_true)
    pred_array = _to_numeric("y_pred", y_pred)
    true_shape = _decoded_shape("y_true", true_array, spec.sparse_y_true, spec.axis)
    pred_sparse = spec.sparse_y_pred or spec.threshold is not None
    pred_shape = _decoded_shape("y_pred", pred_array, pred_sparse, spec.axis)
    _check_same_pixels(true_shape, pred_shape)
    weight = prepare_weight(sample_weight, pred_shape, spec.state_dtype)
    true_allowed = LABEL_DTYPES if spec.sparse_y_true else SCORE_DTYPES
    pred_allowed = LABEL_DTYPES if spec.sparse_y_pred else SCORE_DTYPES
    if spec.threshold is not None:
        pred_allowed = SCORE_DTYPES
    return Batch(
        y_true=np.ascontiguousarray(_native(true_array, true_allowed)),
        y_pred=np.ascontiguousarray(_native(pred_array, pred_allowed)),
        sample_weight=weight,
        label_shape=tuple(pred_shape),
    )


def has_fractional_values(array: np.ndarray) -> bool:
    """Whether a float array holds finite values that are not whole numbers."""
    if array.dtype.kind != "f":
        return False
    finite = array[np.isfinite(array)]
    return bool(np.any(finite != np.trunc(finite)))
