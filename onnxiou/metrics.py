"""The Keras IoU metric family, computed by ONNX graphs in onnxruntime."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from onnxiou import _chunking, _inputs, profiles
from onnxiou._session import MetricRunner
from onnxiou._spec import RESULT_DTYPES, MetricSpec, _check_choice, make_spec
from onnxiou.graph.layout import make_layout
from onnxiou.profiles import provider_names, resolve_kernel


def _default_name(class_name: str) -> str:
    """Keras's automatic metric name: ``MeanIoU`` -> ``mean_io_u``."""
    out = []
    for index, char in enumerate(class_name):
        if char.isupper() and index:
            out.append("_")
        out.append(char.lower())
    return "".join(out)


class _IoUBase:
    """State, update and result shared by the five metrics.

    The confusion matrix is the state: ``total_cm[i, j]`` is the summed
    weight of pairs with true class ``i`` and predicted class ``j``. Updates
    run the update graph and results the result graph; both are built for
    this configuration on first use and cached.
    """

    def __init__(
        self,
        spec: MetricSpec,
        name: str | None,
        dtype: str | None,
        providers: Sequence[object] | None,
    ) -> None:
        self._spec = spec
        self.name = _default_name(type(self).__name__) if name is None else str(name)
        self._dtype = _check_choice("dtype", dtype or "float32", RESULT_DTYPES)
        self._providers = list(providers) if providers is not None else None
        names = provider_names(self._providers)
        self._kernel = resolve_kernel(spec.kernel, names)
        self._runner = MetricRunner(spec, self._kernel, self._providers or names)
        self._lock = threading.Lock()
        self._dropped = 0.0
        self._ignored = 0.0
        self._warned_fractional = False

    # -- Keras API -------------------------------------------------------

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add a batch of labels and predictions to the confusion matrix.

        Raises TypeError or ValueError, leaving the state unchanged, when an
        argument has the wrong kind, shape or values.
        """
        batch = _inputs.prepare_batch(self._spec, y_true, y_pred, sample_weight)
        self._warn_fractional(batch.y_pred)
        if batch.size == 0:
            return
        with self._lock:
            dropped = ignored = 0.0
            for piece in self._pieces(batch):
                piece_dropped, piece_ignored = self._runner.update(
                    piece.y_true, piece.y_pred, piece.sample_weight
                )
                dropped += piece_dropped
                ignored += piece_ignored
            self._dropped += dropped
            self._ignored += ignored

    def result(self) -> np.generic:
        """Return the mean IoU over the target classes present so far."""
        with self._lock:
            result, _ = self._runner.scores()
        return result.astype(self._dtype)[()]

    def reset_state(self) -> None:
        """Forget everything seen so far."""
        with self._lock:
            self._runner.reset()
            self._dropped = 0.0
            self._ignored = 0.0

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments, as Keras's ``get_config`` does."""
        return {
            "name": self.name,
            "dtype": self._dtype,
            **self._keras_config(),
            "state_dtype": self._spec.state_dtype,
            "kernel": self._spec.kernel,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]):
        """Create a metric from the output of :meth:`get_config`."""
        return cls(**config)

    # -- beyond Keras ----------------------------------------------------

    def per_class_iou(self) -> np.ndarray:
        """Return IoU per class (float32), NaN for classes absent from both sides."""
        with self._lock:
            _, per_class = self._runner.scores()
        return per_class

    def load_state(
        self,
        total_cm: Any,
        *,
        dropped_weight: float = 0.0,
        ignored_weight: float = 0.0,
    ) -> None:
        """Replace the state with a saved confusion matrix and its counters.

        ``total_cm`` is a matrix as :attr:`total_cm` returns it, for example
        from a checkpoint. Raises TypeError unless it contains numbers, and
        ValueError, leaving the state unchanged, unless it has the shape
        ``(num_classes, num_classes)`` and finite values that the state dtype
        stores exactly, or unless a counter is not a finite number.
        """
        matrix = _checked_state(total_cm, self._spec)
        dropped = _checked_counter("dropped_weight", dropped_weight)
        ignored = _checked_counter("ignored_weight", ignored_weight)
        with self._lock:
            self._runner.load_state(matrix)
            self._dropped = dropped
            self._ignored = ignored

    @property
    def total_cm(self) -> np.ndarray:
        """The accumulated confusion matrix: rows true, columns predicted."""
        with self._lock:
            return self._runner.state()

    @property
    def dropped_weight(self) -> float:
        """Summed weight of pairs dropped for a label outside ``[0, num_classes)``.

        NaN sparse labels count here too; pairs of an ignored class do not.
        Without ``sample_weight`` this is the number of such pairs.
        """
        return self._dropped

    @property
    def ignored_weight(self) -> float:
        """Summed weight of pairs whose ``y_true`` is an ignored class."""
        return self._ignored

    @property
    def spec(self) -> MetricSpec:
        """The validated configuration the graphs are built from."""
        return self._spec

    @property
    def kernel(self) -> str:
        """The accumulate kernel in use (``"auto"`` resolved per provider)."""
        return self._kernel

    @property
    def profile(self) -> str:
        """The provider profile of the graphs in use, from the first provider.

        One of ``"cpu"``, ``"cuda"`` and ``"tensorrt"``; see
        :mod:`onnxiou.profiles`.
        """
        return self._runner.profile

    @property
    def providers(self) -> list[object] | None:
        return self._providers

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.get_config()!r})"

    # -- internals -------------------------------------------------------

    def _keras_config(self) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__} must define its config keys")

    def _ignore_config(self) -> int | list[int] | None:
        ids = list(self._spec.ignore_class)
        if not ids:
            return None
        return ids[0] if len(ids) == 1 else ids

    def _pieces(self, batch: _inputs.Batch):
        if self._kernel != "onehot_matmul":
            return [batch]
        layout = make_layout(self._spec, 0)
        summed = profiles.accumulate_dtype(self.profile, self._spec.state_dtype)
        itemsize = np.dtype(summed).itemsize
        limit = _chunking.max_pairs(layout.rows, layout.cols, itemsize)
        # Unit-weight counts stay exact in the summing dtype (2**24 pairs
        # per cell in float32).
        limit = min(limit, profiles.exact_count_limit(summed))
        return _chunking.split_batch(batch, self._spec, limit)

    def _warn_fractional(self, y_pred: np.ndarray) -> None:
        sparse_pred = self._spec.sparse_y_pred and self._spec.threshold is None
        if self._warned_fractional or not sparse_pred:
            return
        if _inputs.has_fractional_values(y_pred):
            self._warned_fractional = True
            warnings.warn(
                f"{self.name}: y_pred holds fractional values but sparse_y_pred=True "
                "truncates them to class ids; pass sparse_y_pred=False if y_pred "
                "holds probabilities or logits.",
                UserWarning,
                stacklevel=3,
            )


class IoU(_IoUBase):
    """Intersection-over-union for specific target classes.

    ``iou = true_positives / (true_positives + false_positives +
    false_negatives)`` per class, from a confusion matrix accumulated over
    every batch and weighted by ``sample_weight``; the result is the mean
    over ``target_class_ids`` of the classes that occur in ``y_true`` or
    ``y_pred`` (0.0 when none does).

    Args:
        num_classes: Number of classes; labels outside ``[0, num_classes)``
            are dropped.
        target_class_ids: Classes whose IoU is averaged into the result.
        name: Metric name; Keras's automatic name by default.
        dtype: Result dtype: ``"float32"`` (default), ``"float16"`` or
            ``"float64"``.
        ignore_class: A class id, or several, whose ``y_true`` pairs are not
            counted.
        sparse_y_true: Whether ``y_true`` holds class ids (else argmax over
            ``axis``).
        sparse_y_pred: Whether ``y_pred`` holds class ids (else argmax over
            ``axis``).
        axis: The class axis of dense inputs.
        state_dtype: Element type of the confusion matrix: ``"float64"``
            (exact counts up to 2**53 and fractional weights), ``"int64"``
            (whole weights only) or ``"float32"`` (exact up to 2**24).
        kernel: ``"auto"``, ``"scatter"`` or ``"onehot_matmul"``.
        providers: onnxruntime execution providers; CPU by default.

    Example:
        >>> m = IoU(num_classes=2, target_class_ids=[0])
        >>> m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
        >>> float(m.result())  # class 0: 1 / (2 + 2 - 1)
        0.3333333432674408
    """

    def __init__(
        self,
        num_classes: int,
        target_class_ids: Sequence[int],
        name: str | None = None,
        dtype: str | None = None,
        ignore_class: int | Sequence[int] | None = None,
        sparse_y_true: bool = True,
        sparse_y_pred: bool = True,
        axis: int = -1,
        *,
        state_dtype: str = "float64",
        kernel: str = "auto",
        providers: Sequence[object] | None = None,
    ) -> None:
        spec = make_spec(
            "IoU",
            num_classes=num_classes,
            target_class_ids=target_class_ids,
            ignore_class=ignore_class,
            sparse_y_true=sparse_y_true,
            sparse_y_pred=sparse_y_pred,
            axis=axis,
            state_dtype=state_dtype,
            kernel=kernel,
        )
        super().__init__(spec, name, dtype, providers)

    def _keras_config(self) -> dict[str, Any]:
        spec = self._spec
        return {
            "num_classes": spec.num_classes,
            "target_class_ids": list(spec.target_class_ids),
            "ignore_class": self._ignore_config(),
            "sparse_y_true": spec.sparse_y_true,
            "sparse_y_pred": spec.sparse_y_pred,
            "axis": spec.axis,
        }


class MeanIoU(_IoUBase):
    """Mean intersection-over-union over all classes.

    The :class:`IoU` of every class in ``[0, num_classes)`` that occurs in
    ``y_true`` or ``y_pred``, averaged. Arguments are those of
    :class:`IoU` without ``target_class_ids``.

    Example:
        >>> m = MeanIoU(num_classes=2)
        >>> m.update_state([0, 0, 1, 1], [0, 1, 0, 1],
        ...                sample_weight=[0.3, 0.3, 0.3, 0.1])
        >>> round(float(m.result()), 6)  # (0.3 / 0.9 + 0.1 / 0.7) / 2
        0.238095
    """

    def __init__(
        self,
        num_classes: int,
        name: str | None = None,
        dtype: str | None = None,
        ignore_class: int | Sequence[int] | None = None,
        sparse_y_true: bool = True,
        sparse_y_pred: bool = True,
        axis: int = -1,
        *,
        state_dtype: str = "float64",
        kernel: str = "auto",
        providers: Sequence[object] | None = None,
    ) -> None:
        classes = make_spec_num_classes(num_classes)
        spec = make_spec(
            "MeanIoU",
            num_classes=classes,
            target_class_ids=list(range(classes)),
            ignore_class=ignore_class,
            sparse_y_true=sparse_y_true,
            sparse_y_pred=sparse_y_pred,
            axis=axis,
            state_dtype=state_dtype,
            kernel=kernel,
        )
        super().__init__(spec, name, dtype, providers)

    def _keras_config(self) -> dict[str, Any]:
        spec = self._spec
        return {
            "num_classes": spec.num_classes,
            "ignore_class": self._ignore_config(),
            "sparse_y_true": spec.sparse_y_true,
            "sparse_y_pred": spec.sparse_y_pred,
            "axis": spec.axis,
        }


class BinaryIoU(_IoUBase):
    """IoU of class 0 and/or class 1 for binary labels and scores.

    ``y_pred`` is cast to float32 and becomes class 1 where it is
    ``>= threshold`` (class 0 below it, and where it is NaN); ``y_true``
    holds class ids 0 and 1. The result is the mean IoU of
    ``target_class_ids``, a subset of ``(0, 1)``.

    Example:
        >>> m = BinaryIoU(target_class_ids=[0, 1], threshold=0.3)
        >>> m.update_state([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7])
        >>> float(m.result())  # (1 / 3 + 1 / 3) / 2
        0.3333333432674408
    """

    def __init__(
        self,
        target_class_ids: Sequence[int] = (0, 1),
        threshold: float = 0.5,
        name: str | None = None,
        dtype: str | None = None,
        *,
        state_dtype: str = "float64",
        kernel: str = "auto",
        providers: Sequence[object] | None = None,
    ) -> None:
        spec = make_spec(
            "BinaryIoU",
            num_classes=2,
            target_class_ids=target_class_ids,
            threshold=threshold,
            state_dtype=state_dtype,
            kernel=kernel,
        )
        super().__init__(spec, name, dtype, providers)

    def _keras_config(self) -> dict[str, Any]:
        return {
            "target_class_ids": list(self._spec.target_class_ids),
            "threshold": self._spec.threshold,
        }


class OneHotIoU(_IoUBase):
    """:class:`IoU` for one-hot ``y_true`` (argmax over ``axis``).

    ``y_pred`` holds scores by default (``sparse_y_pred=False``).

    Example:
        >>> y_true = [[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 0, 0]]
        >>> y_pred = [[0.2, 0.3, 0.5], [0.1, 0.2, 0.7], [0.5, 0.3, 0.1],
        ...           [0.1, 0.4, 0.5]]
        >>> m = OneHotIoU(num_classes=3, target_class_ids=[0, 2])
        >>> m.update_state(y_true, y_pred, sample_weight=[0.1, 0.2, 0.3, 0.4])
        >>> round(float(m.result()), 6)  # (0 / 0.9 + 0.1 / 0.7) / 2
        0.071429
    """

    def __init__(
        self,
        num_classes: int,
        target_class_ids: Sequence[int],
        name: str | None = None,
        dtype: str | None = None,
        ignore_class: int | Sequence[int] | None = None,
        sparse_y_pred: bool = False,
        axis: int = -1,
        *,
        state_dtype: str = "float64",
        kernel: str = "auto",
        providers: Sequence[object] | None = None,
    ) -> None:
        spec = make_spec(
            "OneHotIoU",
            num_classes=num_classes,
            target_class_ids=target_class_ids,
            ignore_class=ignore_class,
            sparse_y_true=False,
            sparse_y_pred=sparse_y_pred,
            axis=axis,
            state_dtype=state_dtype,
            kernel=kernel,
        )
        super().__init__(spec, name, dtype, providers)

    def _keras_config(self) -> dict[str, Any]:
        spec = self._spec
        return {
            "num_classes": spec.num_classes,
            "target_class_ids": list(spec.target_class_ids),
            "ignore_class": self._ignore_config(),
            "sparse_y_pred": spec.sparse_y_pred,
            "axis": spec.axis,
        }


class OneHotMeanIoU(_IoUBase):
    """:class:`MeanIoU` for one-hot ``y_true`` (argmax over ``axis``).

    Example:
        >>> y_true = [[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 0, 0]]
        >>> y_pred = [[0.2, 0.3, 0.5], [0.1, 0.2, 0.7], [0.5, 0.3, 0.1],
        ...           [0.1, 0.4, 0.5]]
        >>> m = OneHotMeanIoU(num_classes=3)
        >>> m.update_state(y_true, y_pred, sample_weight=[0.1, 0.2, 0.3, 0.4])
        >>> round(float(m.result()), 6)  # (0 + 0 + 0.1 / 0.7) / 3
        0.047619
    """

    def __init__(
        self,
        num_classes: int,
        name: str | None = None,
        dtype: str | None = None,
        ignore_class: int | Sequence[int] | None = None,
        sparse_y_pred: bool = False,
        axis: int = -1,
        *,
        state_dtype: str = "float64",
        kernel: str = "auto",
        providers: Sequence[object] | None = None,
    ) -> None:
        classes = make_spec_num_classes(num_classes)
        spec = make_spec(
            "OneHotMeanIoU",
            num_classes=classes,
            target_class_ids=list(range(classes)),
            ignore_class=ignore_class,
            sparse_y_true=False,
            sparse_y_pred=sparse_y_pred,
            axis=axis,
            state_dtype=state_dtype,
            kernel=kernel,
        )
        super().__init__(spec, name, dtype, providers)

    def _keras_config(self) -> dict[str, Any]:
        spec = self._spec
        return {
            "num_classes": spec.num_classes,
            "ignore_class": self._ignore_config(),
            "sparse_y_pred": spec.sparse_y_pred,
            "axis": spec.axis,
        }


def _checked_state(total_cm: Any, spec: MetricSpec) -> np.ndarray:
    """Return ``total_cm`` in the state dtype after checking it can be the state."""
    matrix = np.asarray(total_cm)
    if matrix.dtype.kind not in "iuf":
        raise TypeError(
            "Expected argument `total_cm` to contain ints or floats, but got dtype "
            f"{matrix.dtype}."
        )
    if matrix.shape != spec.state_shape:
        raise ValueError(
            f"Expected argument `total_cm` to have shape {spec.state_shape} "
            f"(num_classes x num_classes), but got {matrix.shape}."
        )
    if matrix.dtype.kind == "f" and not np.isfinite(matrix).all():
        raise ValueError(
            "Expected argument `total_cm` to be finite, but it contains NaN or "
            "infinity."
        )
    converted = matrix.astype(spec.state_np_dtype)
    if not np.array_equal(converted, matrix):
        raise ValueError(
            f"Expected argument `total_cm` to contain values that state_dtype="
            f"{spec.state_dtype!r} stores exactly, but converting dtype "
            f"{matrix.dtype} changed some of them."
        )
    return converted


def _checked_counter(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise TypeError(
            f"Expected argument `{name}` to be a number, but got "
            f"{type(value).__name__} {value!r}."
        )
    if not np.isfinite(value):
        raise ValueError(f"Expected argument `{name}` to be finite, but got {value!r}.")
    return float(value)


def make_spec_num_classes(value: Any) -> int:
    from onnxiou._spec import check_num_classes

    return check_num_classes(value)


METRICS = {cls.__name__: cls for cls in (IoU, BinaryIoU, OneHotIoU, OneHotMeanIoU, MeanIoU)}
