"""Validated configuration of one IoU metric: the single source of its state."""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

STATE_DTYPES = ("float64", "int64", "float32")
KERNELS = ("auto", "scatter", "onehot_matmul")
RESULT_DTYPES = ("float16", "float32", "float64")
# Labels decoded from NaN, infinity or huge floats, and unsigned labels past
# int64, become +-2**62 or beyond, so no ignored id may reach that far.
IGNORE_LIMIT = 2**62
METRIC_NAMES = ("IoU", "BinaryIoU", "OneHotIoU", "OneHotMeanIoU", "MeanIoU")


@dataclasses.dataclass(frozen=True)
class MetricSpec:
    """Everything that fixes a metric's graphs, after validation.

    ``ignore_class`` is always a sorted tuple here, empty when no class is
    ignored; ``threshold`` is set for BinaryIoU only.
    """

    metric: str
    num_classes: int
    target_class_ids: tuple[int, ...]
    ignore_class: tuple[int, ...] = ()
    sparse_y_true: bool = True
    sparse_y_pred: bool = True
    axis: int = -1
    threshold: float | None = None
    state_dtype: str = "float64"
    kernel: str = "auto"

    @property
    def state_shape(self) -> tuple[int, int]:
        """Shape of the confusion matrix: rows are true, columns predicted."""
        return (self.num_classes, self.num_classes)

    @property
    def state_np_dtype(self) -> np.dtype:
        return np.dtype(self.state_dtype)

    def zero_state(self) -> np.ndarray:
        """Return the state of a metric that has seen no data."""
        return np.zeros(self.state_shape, dtype=self.state_np_dtype)


def _check_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"Expected argument `{name}` to be an int, but got "
            f"{type(value).__name__} {value!r}."
        )
    return int(value)


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"Expected argument `{name}` to be a bool, but got "
            f"{type(value).__name__} {value!r}."
        )
    return bool(value)


def _check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(
            f"Expected argument `{name}` to be one of {list(choices)}, "
            f"but got {value!r}."
        )
    return value


def _dtype_name(value: Any) -> Any:
    """The name of a numpy dtype or type; anything else is returned as is."""
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return np.dtype(value).name
    return value


def check_num_classes(value: Any) -> int:
    num_classes = _check_int("num_classes", value)
    if num_classes < 1:
        raise ValueError(
            f"Expected argument `num_classes` to be at least 1, but got {value!r}."
        )
    return num_classes


def check_target_class_ids(value: Any, num_classes: int) -> tuple[int, ...]:
    """Validate target ids: a non-empty sequence of distinct ids in range."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        if isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
            value = list(value)
        else:
            raise TypeError(
                "Expected argument `target_class_ids` to be a list or tuple of "
                f"ints, but got {type(value).__name__} {value!r}."
            )
    ids = tuple(_check_int("target_class_ids", v) for v in value)
    if not ids:
        raise ValueError(
            "Expected argument `target_class_ids` to name at least one class, "
            "but got an empty sequence."
        )
    for class_id in ids:
        if not 0 <= class_id < num_classes:
            raise ValueError(
                "Expected every value of argument `target_class_ids` to be in "
                f"[0, num_classes) = [0, {num_classes}), but got {class_id} "
                f"in {list(ids)}."
            )
    if len(set(ids)) != len(ids):
        raise ValueError(
            "Expected argument `target_class_ids` to hold distinct ids, but "
            f"got {list(ids)}."
        )
    return ids


def check_ignore_class(value: Any) -> tuple[int, ...]:
    """Normalize ``ignore_class`` (None, an int or ints) to a sorted tuple."""
    if value is None:
        return ()
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = [value]
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(
            "Expected argument `ignore_class` to be None, an int or a sequence "
            f"of ints, but got {type(value).__name__} {value!r}."
        )
    ids = sorted({_check_int("ignore_class", v) for v in list(value)})
    for class_id in ids:
        if not -IGNORE_LIMIT < class_id < IGNORE_LIMIT:
            raise ValueError(
                "Expected every value of argument `ignore_class` to be in "
                f"(-2**62, 2**62), but got {class_id}."
            )
    return tuple(ids)


def check_threshold(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"Expected argument `threshold` to be a float, but got "
            f"{type(value).__name__} {value!r}."
        )
    try:
        finite = math.isfinite(float(value))
    except OverflowError:
        finite = False
    if not finite:
        raise ValueError(
            f"Expected argument `threshold` to be finite, but got {value!r}."
        )
    return float(value)


def make_spec(
    metric: str,
    *,
    num_classes: Any,
    target_class_ids: Any,
    ignore_class: Any = None,
    sparse_y_true: Any = True,
    sparse_y_pred: Any = True,
    axis: Any = -1,
    threshold: Any = None,
    state_dtype: Any = "float64",
    kernel: Any = "auto",
) -> MetricSpec:
    """Validate constructor arguments and return the frozen spec."""
    _check_choice("metric", metric, METRIC_NAMES)
    classes = check_num_classes(num_classes)
    return MetricSpec(
        metric=metric,
        num_classes=classes,
        target_class_ids=check_target_class_ids(target_class_ids, classes),
        ignore_class=check_ignore_class(ignore_class),
        sparse_y_true=_check_bool("sparse_y_true", sparse_y_true),
        sparse_y_pred=_check_bool("sparse_y_pred", sparse_y_pred),
        axis=_check_int("axis", axis),
        threshold=None if threshold is None else check_threshold(threshold),
        state_dtype=_check_choice("state_dtype", _dtype_name(state_dtype), STATE_DTYPES),
        kernel=_check_choice("kernel", kernel, KERNELS),
    )
