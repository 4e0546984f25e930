"""Validate and normalize one ``update_state`` call before any graph runs.

Everything that can be wrong with a batch is caught here, so a rejected
update raises before the state is touched.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from onnxiou._spec import IGNORE_LIMIT, MetricSpec

# Element types the graphs take natively; other inputs are converted first.
LABEL_DTYPES = ("int64", "int32", "uint8", "float32", "float64")
SCORE_DTYPES = ("float32", "float16", "float64", "int64", "int32", "uint8")
# The same as dtype objects: a set lookup is faster than ``dtype.name``.
_NATIVE = {
    LABEL_DTYPES: frozenset(np.dtype(name) for name in LABEL_DTYPES),
    SCORE_DTYPES: frozenset(np.dtype(name) for name in SCORE_DTYPES),
}
# Unsigned labels above IGNORE_LIMIT are clipped to it before the cast to
# int64, so they stay out of range instead of wrapping to negative ids.
LABEL_LIMIT = IGNORE_LIMIT
# Whole-number weights an int64 state takes: far below int64's range, so
# that a sum of many stays exact.
_INT64_WEIGHT_LIMIT = 2**52
# The unit weight of each state dtype, shared by every unweighted call;
# it is read-only so no caller can change it.
_UNIT_WEIGHTS = {}
for _name in ("float64", "float32", "int64"):
    _UNIT_WEIGHTS[_name] = np.ones(1, dtype=_name)
    _UNIT_WEIGHTS[_name].flags.writeable = False


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
            f"Expected argument `{name}` to contain numbers (bool, int or float), "
            f"but got dtype {array.dtype}."
        )
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    if array.dtype.kind == "b":
        # A bool array viewed from other bytes may store True as any
        # nonzero byte; comparing gives canonical 0 and 1.
        array = np.not_equal(array.view(np.uint8), 0).view(np.uint8)
    return array


def _native(array: np.ndarray, allowed: tuple[str, ...]) -> np.ndarray:
    """Return ``array`` in a graph element type, converting only if needed."""
    if array.dtype in _NATIVE[allowed]:
        return array
    if array.dtype.kind == "f" or (allowed is SCORE_DTYPES and array.dtype.kind == "u"):
        return array.astype(np.float64)
    if array.dtype == np.uint64:
        return np.minimum(array, LABEL_LIMIT).astype(np.int64)
    return array.astype(np.int64)


def _decoded_shape(
    name: str, array: np.ndarray, sparse: bool, axis: int, num_classes: int
) -> tuple:
    if sparse:
        return array.shape
    if array.ndim == 0 or not -array.ndim <= axis < array.ndim:
        raise ValueError(
            f"Expected argument `{name}` to have an axis {axis} with the "
            f"classes (dense input, argmax over axis), but got shape {array.shape}."
        )
    if array.shape[axis] != num_classes:
        raise ValueError(
            f"Expected axis {axis} of argument `{name}` to have num_classes="
            f"{num_classes} class scores, but got shape {array.shape}. Check "
            "`axis` and `num_classes`."
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
    """Return the weight's shape padded with ones to the labels' rank."""
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
            "Expected argument `sample_weight` to be finite, but it contains NaN "
            "or infinity."
        )
    if weight.size and weight.min() < 0:
        raise ValueError(
            "Expected argument `sample_weight` to be non-negative, but got "
            f"{float(weight.min())!r}; use 0 to mask pairs."
        )
    limit = _INT64_WEIGHT_LIMIT if state_dtype == "int64" else np.finfo(state_dtype).max
    if weight.size and weight.max() > limit:
        raise ValueError(
            f"Expected argument `sample_weight` to be at most {float(limit):g} with "
            f"state_dtype={state_dtype!r}, but got {float(weight.max())!r}."
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
        return _UNIT_WEIGHTS[state_dtype]
    weight = _to_numeric("sample_weight", value)
    _check_weight(weight, label_shape, state_dtype)
    return np.ascontiguousarray(_flatten_weight(weight, label_shape), dtype=state_dtype)


def _weight_for_either(
    value: Any, true_shape: tuple, pred_shape: tuple, spec: MetricSpec
) -> np.ndarray:
    """Prepare the weight against the predictions' label shape.

    When the label shapes differ only by a trailing unit axis, a weight
    shaped like y_true is accepted too, as Keras accepts it.
    """
    try:
        return prepare_weight(value, pred_shape, spec.state_dtype)
    except ValueError:
        if true_shape == pred_shape:
            raise
        weight = prepare_weight(value, true_shape, spec.state_dtype)
        samples = true_shape[0] if true_shape else 1
        if weight.shape[0] == samples and pred_shape[:1] != true_shape[:1]:
            raise
        return weight


def prepare_batch(spec: MetricSpec, y_true: Any, y_pred: Any, sample_weight: Any) -> Batch:
    """Validate one batch against ``spec`` and convert it for the graphs."""
    true_array = _to_numeric("y_true", y_true)
    pred_array = _to_numeric("y_pred", y_pred)
    classes = spec.num_classes
    true_shape = _decoded_shape(
        "y_true", true_array, spec.sparse_y_true, spec.axis, classes
    )
    pred_sparse = spec.sparse_y_pred or spec.threshold is not None
    pred_shape = _decoded_shape("y_pred", pred_array, pred_sparse, spec.axis, classes)
    _check_same_pixels(true_shape, pred_shape)
    weight = _weight_for_either(sample_weight, true_shape, pred_shape, spec)
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
    """Return whether a float array contains finite values that are not whole numbers."""
    if array.dtype.kind != "f":
        return False
    finite = array[np.isfinite(array)]
    return bool(np.any(finite != np.trunc(finite)))
