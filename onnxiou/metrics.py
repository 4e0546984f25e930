"""The Keras IoU metric family, computed by ONNX graphs in onnxruntime."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from onnxiou._metric import _IoUBase
from onnxiou._spec import check_num_classes, make_spec

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
        sparse_y_true: Whether ``y_true`` contains class ids (else argmax over
            ``axis``).
        sparse_y_pred: Whether ``y_pred`` contains class ids (else argmax over
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
        classes = check_num_classes(num_classes)
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
    contains class ids 0 and 1. The result is the mean IoU of
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

    ``y_pred`` contains scores by default (``sparse_y_pred=False``).

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
        classes = check_num_classes(num_classes)
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



METRICS = {cls.__name__: cls for cls in (IoU, BinaryIoU, OneHotIoU, OneHotMeanIoU, MeanIoU)}

__all__ = ["METRICS", "BinaryIoU", "IoU", "MeanIoU", "OneHotIoU", "OneHotMeanIoU"]
