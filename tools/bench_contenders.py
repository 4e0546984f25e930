"""Inputs and contenders of tools/bench.py.

A contender builds ``(update, matrix)`` for a case: ``update()`` adds the
case's batch to its state and ``matrix()`` returns the accumulated
``[classes, classes]`` confusion matrix, rows true and columns predicted.
Peers are imported inside their builders, so a missing package only
skips that contender.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import math
import os
from collections.abc import Callable
from typing import Any

import numpy as np

BASELINE = "numpy bincount"
SEED = 20240601


# -- inputs ----------------------------------------------------------------


@dataclasses.dataclass
class Case:
    """One grid cell's inputs: labels ``[1, H, W]`` and predictions."""

    classes: int
    pixels: int
    label_dtype: str
    pred_kind: str
    y_true: np.ndarray
    y_pred: np.ndarray

    @property
    def class_axis(self) -> int | None:
        return {"labels": None, "logits_nhwc": -1, "logits_nchw": 1}[self.pred_kind]

    @property
    def input_bytes(self) -> int:
        return self.y_true.nbytes + self.y_pred.nbytes

    def key(self) -> tuple:
        return (self.classes, self.pixels, self.label_dtype, self.pred_kind)


def image_side(pixels: int) -> int:
    side = math.isqrt(pixels)
    if side * side != pixels:
        raise ValueError(f"Expected a square pixel count, but got {pixels}.")
    return side


def make_case(classes: int, pixels: int, label_dtype: str, pred_kind: str) -> Case:
    """Uniform random labels in ``[0, classes)``; logits as float32 normals."""
    rng = np.random.default_rng([SEED, classes, pixels])
    side = image_side(pixels)
    y_true = rng.integers(0, classes, (1, side, side)).astype(label_dtype)
    if pred_kind == "labels":
        y_pred = rng.integers(0, classes, (1, side, side)).astype(label_dtype)
    else:
        logits = rng.standard_normal((1, side, side, classes), dtype=np.float32)
        if pred_kind == "logits_nchw":
            logits = np.ascontiguousarray(logits.transpose(0, 3, 1, 2))
        y_pred = logits
    return Case(classes, pixels, label_dtype, pred_kind, y_true, y_pred)


def logits_bytes(classes: int, pixels: int) -> int:
    return classes * pixels * 4


# -- contenders ------------------------------------------------------------


class Skip(Exception):
    """A contender cannot run here (missing package or unsupported case)."""


@dataclasses.dataclass(frozen=True)
class Contender:
    """A named way to add one batch to a confusion matrix.

    ``make(case)`` returns ``(update, matrix)``: ``update()`` adds the case's
    batch to fresh state and ``matrix()`` returns the accumulated
    ``[classes, classes]`` matrix, rows true and columns predicted.
    """

    name: str
    package: str
    make: Callable[[Case], tuple[Callable[[], Any], Callable[[], np.ndarray]]]


def numpy_bincount(case: Case):
    """Time the baseline: argmax if needed, mask valid pairs, one ``np.bincount``."""
    classes = case.classes
    state = {"cm": np.zeros(classes * classes, np.int64)}

    def update():
        y_true = case.y_true.reshape(-1).astype(np.int64, copy=False)
        y_pred = case.y_pred
        if case.class_axis is not None:
            y_pred = np.argmax(y_pred, axis=case.class_axis)
        y_pred = y_pred.reshape(-1).astype(np.int64, copy=False)
        valid = (y_true >= 0) & (y_true < classes) & (y_pred >= 0) & (y_pred < classes)
        cells = y_true[valid] * classes + y_pred[valid]
        state["cm"] += np.bincount(cells, minlength=classes * classes)

    return update, lambda: state["cm"].reshape(classes, classes)


def onnxiou_maker(kernel: str):
    def make(case: Case):
        import onnxiou

        dense = case.class_axis is not None
        metric = onnxiou.MeanIoU(
            case.classes,
            sparse_y_pred=not dense,
            axis=case.class_axis if dense else -1,
            kernel=kernel,
        )

        def update():
            metric.update_state(case.y_true, case.y_pred)

        return update, lambda: metric.total_cm

    return make


def torchmetrics_maker(validate_args: bool):
    def make(case: Case):
        import torch
        from torchmetrics.classification import MulticlassJaccardIndex

        metric = MulticlassJaccardIndex(case.classes, validate_args=validate_args)

        def update():
            preds = torch.from_numpy(case.y_pred)
            if case.pred_kind == "logits_nhwc":
                preds = preds.movedim(-1, 1)
            metric.update(preds, torch.from_numpy(case.y_true))

        return update, lambda: metric.confmat.numpy()

    return make


def keras_mean_iou(case: Case):
    if os.environ.get("KERAS_BACKEND") != "jax":
        raise Skip("KERAS_BACKEND is not jax")
    import jax  # noqa: F401  (a missing jax skips the contender)
    import keras

    dense = case.class_axis is not None
    metric = keras.metrics.MeanIoU(
        case.classes,
        sparse_y_pred=not dense,
        axis=case.class_axis if dense else -1,
    )

    def update():
        metric.update_state(case.y_true, case.y_pred)

    return update, lambda: np.asarray(metric.total_cm)


def sklearn_confusion_matrix(case: Case):
    from sklearn.metrics import confusion_matrix

    labels = np.arange(case.classes)
    state = {"cm": np.zeros((case.classes, case.classes), np.int64)}

    def update():
        y_pred = case.y_pred
        if case.class_axis is not None:
            y_pred = np.argmax(y_pred, axis=case.class_axis)
        state["cm"] += confusion_matrix(
            case.y_true.reshape(-1), y_pred.reshape(-1), labels=labels
        )

    return update, lambda: state["cm"]


CONTENDERS = [
    Contender("onnxiou MeanIoU (default)", "onnxruntime", onnxiou_maker("auto")),
    Contender("onnxiou MeanIoU scatter", "onnxruntime", onnxiou_maker("scatter")),
    Contender(
        "onnxiou MeanIoU onehot_matmul", "onnxruntime", onnxiou_maker("onehot_matmul")
    ),
    Contender(BASELINE, "numpy", numpy_bincount),
    Contender(
        "torchmetrics MulticlassJaccardIndex (validate_args=False)",
        "torchmetrics",
        torchmetrics_maker(False),
    ),
    Contender(
        "torchmetrics MulticlassJaccardIndex (validate_args=True)",
        "torchmetrics",
        torchmetrics_maker(True),
    ),
    Contender("keras MeanIoU (jax)", "keras", keras_mean_iou),
    Contender(
        "scikit-learn confusion_matrix", "scikit-learn", sklearn_confusion_matrix
    ),
]


def contender_named(name: str) -> Contender:
    for contender in CONTENDERS:
        if contender.name == name:
            return contender
    raise ValueError(f"Expected a contender name, but got {name!r}.")


def package_version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def available(contender: Contender) -> bool:
    needed = {"torchmetrics": ["torchmetrics", "torch"], "keras": ["keras", "jax"]}
    packages = needed.get(contender.package, [contender.package])
    return all(package_version(package) for package in packages)
