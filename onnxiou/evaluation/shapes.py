"""Distinguish label-map predictions from class scores and check pixel shapes.

A prediction with the same rank as its label map contains one value per pixel:
a class id, or for BinaryIoU a score that is thresholded. A prediction with
one more axis contains class scores (logits or probabilities) along the class
axis, and its argmax over that axis is the predicted class.
"""

from __future__ import annotations

import enum

import numpy as np

from onnxiou.evaluation.errors import EvaluationError
from onnxiou.evaluation.pairing import Pair


class PredictionKind(enum.Enum):
    """Content of a prediction file per pixel."""

    LABELS = "labels"
    """One value per pixel: a class id, or a BinaryIoU score."""
    SCORES = "scores"
    """One score per class along the class axis."""


def prediction_kind(label: np.ndarray, prediction: np.ndarray) -> PredictionKind:
    """Return SCORES if ``prediction`` has one axis more than ``label``.

    A label whose last axis has length 1 counts without that axis when the
    prediction has the same rank and a longer last axis, so ``(H, W, 1)``
    labels go with ``(H, W, C)`` scores, as the metrics accept them.
    """
    if prediction.ndim == label.ndim + 1 or _has_trailing_unit_axis(label, prediction):
        return PredictionKind.SCORES
    return PredictionKind.LABELS


def without_trailing_axis(
    label: np.ndarray, prediction: np.ndarray, kind: PredictionKind
) -> np.ndarray:
    """Return ``label`` without its last axis if it has length 1 and goes with scores.

    Only a label of the prediction's rank loses the axis, which is what makes
    :func:`prediction_kind` return SCORES for the pair.
    """
    if kind is PredictionKind.SCORES and _has_trailing_unit_axis(label, prediction):
        return label[..., 0]
    return label


def _has_trailing_unit_axis(label: np.ndarray, prediction: np.ndarray) -> bool:
    return (
        label.ndim >= 2
        and label.ndim == prediction.ndim
        and label.shape[-1] == 1
        and prediction.shape[-1] > 1
    )


def check_pair_shapes(
    pair: Pair,
    label: np.ndarray,
    prediction: np.ndarray,
    kind: PredictionKind,
    axis: int,
    num_classes: int,
) -> None:
    """Raise EvaluationError unless ``prediction`` covers the pixels of ``label``.

    Shapes that differ only by axes of length 1 cover the same pixels, as
    the metrics accept them. Class scores must also have ``num_classes``
    entries on ``axis``.
    """
    found = prediction_kind(label, prediction)
    if found is not kind:
        raise EvaluationError(
            f"{pair.prediction} contains {_describe(found)} (shape {prediction.shape} "
            f"for label shape {label.shape}), but the first prediction of this run "
            f"contains {_describe(kind)}; one run takes one kind"
        )
    if kind is PredictionKind.LABELS:
        pixel_shape = prediction.shape
    else:
        pixel_shape = _pixel_shape(pair, prediction, axis)
    if not _same_pixels(label.shape, pixel_shape):
        axis_note = ""
        if kind is PredictionKind.SCORES:
            hint = _axis_hint(label, prediction, num_classes)
            axis_note = f" (class axis {axis}){hint}"
        raise EvaluationError(
            f"shape mismatch for {pair.stem!r}: label {pair.label} has shape "
            f"{label.shape}, but prediction {pair.prediction} has shape "
            f"{prediction.shape}{axis_note}"
        )
    if kind is PredictionKind.SCORES and prediction.shape[axis] != num_classes:
        hint = _axis_hint(label, prediction, num_classes)
        raise EvaluationError(
            f"{pair.prediction} has {prediction.shape[axis]} class scores on axis "
            f"{axis} (shape {prediction.shape}), but the run has {num_classes} "
            f"classes{hint or '; check --axis and --num-classes'}"
        )


def _axis_hint(label: np.ndarray, prediction: np.ndarray, num_classes: int) -> str:
    """Return "; ... pass --axis N" for an axis that makes the shapes match, or "".

    An axis with ``num_classes`` entries comes before one with another length.
    """
    candidates = [
        axis
        for axis in range(prediction.ndim)
        if _same_pixels(label.shape, _without_axis(prediction.shape, axis))
    ]
    if not candidates:
        return ""
    candidates.sort(key=lambda axis: prediction.shape[axis] != num_classes)
    axis = candidates[0]
    return f"; the class axis looks like axis {axis}, so pass --axis {axis}"


def _without_axis(shape: tuple[int, ...], axis: int) -> tuple[int, ...]:
    return shape[:axis] + shape[axis + 1 :]


def _describe(kind: PredictionKind) -> str:
    if kind is PredictionKind.SCORES:
        return "class scores (one axis more than its label)"
    return "a label map (the rank of its label)"


def _pixel_shape(pair: Pair, prediction: np.ndarray, axis: int) -> tuple[int, ...]:
    if not -prediction.ndim <= axis < prediction.ndim:
        raise EvaluationError(
            f"--axis {axis} is out of range for prediction {pair.prediction} of "
            f"shape {prediction.shape}; expected an axis in "
            f"[{-prediction.ndim}, {prediction.ndim})"
        )
    return _without_axis(prediction.shape, axis % prediction.ndim)


def _same_pixels(label_shape: tuple[int, ...], pixel_shape: tuple[int, ...]) -> bool:
    if label_shape == pixel_shape:
        return True
    return _squeezed(label_shape) == _squeezed(pixel_shape)


def _squeezed(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(dim for dim in shape if dim != 1)
