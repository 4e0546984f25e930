"""The cases of the golden catalogue: metric, export options and input batches.

Inputs come from ``random.Random(crc32(case id))`` and only its ``random()``
method, whose sequence Python keeps stable across versions for a given seed,
so the catalogue does not change with the Python or numpy version. Edge
values (NaN, infinities, ignored and out-of-range ids, ties) are planted at
fixed positions so that every case is sure to contain them.
"""

from __future__ import annotations

import dataclasses
import math
import random
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

Batch = tuple[np.ndarray, np.ndarray, np.ndarray]
"""``(y_true, y_pred, sample_weight)``, the weight 1-D in the graphs' form."""

NAN = float("nan")
INF = float("inf")


@dataclasses.dataclass(frozen=True)
class GoldenCase:
    """One catalogue entry: a metric, how it is exported and what it is fed."""

    case_id: str
    description: str
    metric: str
    params: dict[str, Any]
    """Constructor arguments of ``onnxiou.METRICS[metric]``."""
    export: dict[str, Any]
    """Keyword arguments of ``onnxiou.export.export``."""
    make_batches: Callable[[random.Random], list[Batch]]

    def batches(self) -> list[Batch]:
        return self.make_batches(random.Random(zlib.crc32(self.case_id.encode())))


# -- input helpers ---------------------------------------------------------


def pick(rng: random.Random, choices: Sequence[Any], count: int) -> list[Any]:
    return [choices[int(rng.random() * len(choices))] for _ in range(count)]


def labels(
    rng: random.Random,
    shape: tuple[int, ...],
    choices: Sequence[Any],
    dtype: str,
    planted: dict[int, Any] | None = None,
) -> np.ndarray:
    """Draw labels from ``choices``, then set the flat positions in ``planted``."""
    values = pick(rng, choices, math.prod(shape))
    for index, value in (planted or {}).items():
        values[index] = value
    return np.array(values, dtype=dtype).reshape(shape)


def scores(
    rng: random.Random,
    shape: tuple[int, ...],
    dtype: str,
    planted: dict[int, float] | None = None,
) -> np.ndarray:
    """Draw scores on a grid of 1/8 in [-2, 2], so ties are common."""
    values = [round(rng.random() * 32) / 8 - 2 for _ in range(math.prod(shape))]
    for index, value in (planted or {}).items():
        values[index] = value
    return np.array(values, dtype=dtype).reshape(shape)


def one_hot(class_ids: np.ndarray, classes: int, axis: int, dtype: str) -> np.ndarray:
    """Return one-hot rows of ``class_ids`` with the class axis at ``axis``."""
    encoded = (class_ids[..., None] == np.arange(classes)).astype(dtype)
    return np.moveaxis(encoded, -1, axis)


def weights(
    rng: random.Random, count: int, choices: Sequence[float], dtype: str
) -> np.ndarray:
    return np.array(pick(rng, choices, count), dtype=dtype)


def unit_weight(dtype: str) -> np.ndarray:
    return np.ones(1, dtype=dtype)


# -- sparse labels ---------------------------------------------------------


def iou_int64_batches(rng: random.Random) -> list[Batch]:
    out = []
    for shape in [(2, 3, 4), (2, 0, 4), (1, 4, 5)]:
        y_true = labels(rng, shape, range(4), "int64")
        y_pred = labels(rng, shape, range(4), "int64")
        weight = np.ones(shape[0], dtype="float64")
        out.append((y_true, y_pred, weight))
    return out


def fractional_pixel_batches(rng: random.Random) -> list[Batch]:
    choices = [0, 1, 2, 3, 4, 0, 1, 2, 255, 5, 9, -1, -4]
    out = []
    for shape in [(2, 4, 5), (2, 3, 6)]:
        y_true = labels(rng, shape, choices, "int64", {0: 255, 1: 5, 2: -1})
        y_pred = labels(rng, shape, choices, "int64", {3: 255, 4: 7, 5: -4})
        weight = weights(rng, y_pred.size, [0.1, 0.25, 0.3, 0.7, 1.0, 0.0], "float64")
        out.append((y_true, y_pred, weight))
    return out


def many_ignored_batches(rng: random.Random) -> list[Batch]:
    choices = [0, 1, 2, 3, 4, 5, 6, 7, 255, 5000, -1, 2**40, -(2**40)]
    out = []
    for shape in [(3, 4, 4), (2, 5, 3)]:
        planted_true = {0: 2, 1: 255, 2: 5000, 3: 2**40, 4: -(2**40), 5: 6}
        y_true = labels(rng, shape, choices, "int64", planted_true)
        y_pred = labels(rng, shape, choices, "int64", {6: 5000, 7: 2})
        weight = weights(rng, shape[0], [1, 2, 3], "int64")
        out.append((y_true, y_pred, weight))
    return out


def uint8_batches(rng: random.Random) -> list[Batch]:
    choices = [0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 200, 255]
    out = []
    for shape in [(2, 5, 4), (3, 2, 5)]:
        y_true = labels(rng, shape, choices, "uint8", {0: 255, 1: 200, 2: 4})
        y_pred = labels(rng, shape, choices, "uint8", {3: 255, 4: 5})
        weight = weights(rng, y_pred.size, [0.25, 0.5, 1.0, 1.5, 2.0], "float32")
        out.append((y_true, y_pred, weight))
    return out


def int32_batches(rng: random.Random) -> list[Batch]:
    choices = list(range(-7, 8))
    out = []
    for shape in [(6, 8), (4, 5)]:
        y_true = labels(rng, shape, choices, "int32")
        y_pred = labels(rng, shape, choices, "int32")
        out.append((y_true, y_pred, np.array([3], dtype="int64")))
    return out


def nan_label_batches(rng: random.Random) -> list[Batch]:
    true_choices = [0.0, 1.0, 2.0, 3.0, 1.5, 2.75, 3.999, -0.5, 4.0]
    pred_choices = [0.0, 1.0, 2.0, 3.0, 0.5, 1.25, 2.5, -0.25, 5.0]
    planted_true = {0: NAN, 1: INF, 2: -INF, 3: 1e30, 4: 255.5, 5: 255.0, 6: -0.5}
    planted_pred = {7: NAN, 8: -INF, 9: INF, 10: -1.5, 11: 3.75}
    out = []
    for shape in [(3, 3, 4), (2, 4, 4)]:
        y_true = labels(rng, shape, true_choices, "float32", planted_true)
        y_pred = labels(rng, shape, pred_choices, "float64", planted_pred)
        weight = weights(rng, shape[0], [0.5, 1.0, 2.0], "float64")
        out.append((y_true, y_pred, weight))
    return out


def negative_far_ignore_batches(rng: random.Random) -> list[Batch]:
    choices = [0, 1, 2] * 4 + [-1, -2, -3, -5000, 7000, 3, 1030, -1030]
    out = []
    for shape in [(4, 6), (3, 7)]:
        planted = {0: -2, 1: -5000, 2: 7000, 3: -1, 4: -3, 5: 3}
        y_true = labels(rng, shape, choices, "int64", planted)
        y_pred = labels(rng, shape, choices, "int64", {6: -2, 7: 7000})
        out.append((y_true, y_pred, unit_weight("float64")))
    return out


def onehot_matmul_batches(rng: random.Random) -> list[Batch]:
    choices = [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 255, 5, -1]
    out = []
    for shape in [(2, 3, 5), (4, 2, 3), (1, 6, 2)]:
        y_true = labels(rng, shape, choices, "int64", {0: 255, 1: 5})
        y_pred = labels(rng, shape, choices, "int64", {2: -1})
        weight = weights(rng, shape[0], [1.0, 2.0, 4.0], "float32")
        out.append((y_true, y_pred, weight))
    return out


def absent_target_batches(rng: random.Random) -> list[Batch]:
    out = []
    for size in [12, 9]:
        y_true = labels(rng, (size,), [0, 1, 2], "int64", {0: 2, 1: 2})
        y_pred = labels(rng, (size,), [0, 1], "int64")
        # Every class-2 pair weighs 0: class 2 has TP + FP + FN = 0.
        weight = np.where(y_true == 2, 0.0, pick(rng, [0.5, 1.0, 1.5], size))
        out.append((y_true, y_pred, weight.astype("float64")))
    return out


# -- dense predictions -----------------------------------------------------


def logits_last_axis_batches(rng: random.Random) -> list[Batch]:
    out = []
    # Positions 0-3 are the four classes of pixel 0: a NaN wins, ties go first.
    planted = {0: 0.5, 1: NAN, 2: 1.0, 3: NAN, 4: 1.25, 5: 1.25, 6: 0.0, 7: 1.25}
    for shape in [(2, 3, 4), (1, 5, 2), (3, 1, 3)]:
        y_true = labels(rng, shape, [0, 1, 2, 3, 4, -1], "int64")
        y_pred = scores(rng, shape + (4,), "float32", planted)
        out.append((y_true, y_pred, unit_weight("float64")))
    return out


def logits_axis1_batches(rng: random.Random) -> list[Batch]:
    out = []
    for batch, height, width in [(2, 3, 4), (3, 2, 2)]:
        shape = (batch, height, width)
        y_true = labels(rng, shape, [0, 1, 2, 3, -2], "int64")
        # Pixel 0 of sample 0 has logits at flat offsets 0, 12 and 24 (axis 1).
        planted = {0: 0.75, 12: 0.75, 24: -1.0}
        y_pred = scores(rng, (batch, 3, height, width), "float32", planted)
        weight = weights(rng, batch, [0.1, 0.3, 0.7], "float64")
        out.append((y_true, y_pred, weight))
    return out


def trailing_one_batches(rng: random.Random) -> list[Batch]:
    out = []
    for shape in [(2, 3, 3), (1, 4, 2)]:
        y_true = labels(rng, shape + (1,), [0, 1, 2, 3], "int64")
        y_pred = scores(rng, shape + (3,), "float32")
        weight = weights(rng, math.prod(shape), [1, 2, 5], "int64")
        out.append((y_true, y_pred, weight))
    return out


def binary_default_batches(rng: random.Random) -> list[Batch]:
    score_choices = [0.0, 0.25, 0.5, 0.75, 1.0]
    below_half = float(np.nextafter(np.float32(0.5), np.float32(0)))
    planted = {0: NAN, 1: 0.5, 2: below_half, 3: INF, 4: -INF}
    out = []
    for shape in [(4, 5), (2, 6)]:
        y_true = labels(rng, shape, [0, 1, 0, 1, 2, -1], "int64")
        y_pred = labels(rng, shape, score_choices, "float32", planted)
        out.append((y_true, y_pred, unit_weight("float64")))
    return out


def binary_float64_batches(rng: random.Random) -> list[Batch]:
    # 0.29999999999 rounds to float32(0.3), so it counts as >= 0.3 in float32
    # (it would not in float64); 0.2999999 rounds below it.
    score_choices = [0.1, 0.29999999999, 0.3, 0.2999999, 0.30000001, 0.9]
    out = []
    for shape in [(3, 6), (2, 5)]:
        y_true = labels(rng, shape, [0, 1], "uint8")
        y_pred = labels(rng, shape, score_choices, "float64", {0: 0.29999999999})
        weight = weights(rng, shape[0], [1, 2, 3], "int64")
        out.append((y_true, y_pred, weight))
    return out


# -- one-hot labels --------------------------------------------------------


def keras_example_batches(rng: random.Random) -> list[Batch]:
    del rng  # the example's fixed numbers
    y_true = np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 0, 0]], dtype="float32")
    y_pred = np.array(
        [[0.2, 0.3, 0.5], [0.1, 0.2, 0.7], [0.5, 0.3, 0.1], [0.1, 0.4, 0.5]],
        dtype="float32",
    )
    weight = np.array([0.1, 0.2, 0.3, 0.4], dtype="float64")
    return [(y_true, y_pred, weight)]


def int32_onehot_batches(rng: random.Random) -> list[Batch]:
    out = []
    for batch, count in [(2, 6), (3, 4)]:
        ids = labels(rng, (batch, count), range(4), "int64")
        y_true = one_hot(ids, 4, -1, "int32")
        y_true[0, 0] = 0  # an all-zero row decodes to class 0
        y_pred = labels(rng, (batch, count, 4), [0.0, 0.125, 0.25, 0.5], "float64")
        weight = weights(rng, batch, [1.0, 2.0, 3.0], "float32")
        out.append((y_true, y_pred, weight))
    return out


def onehot_axis1_batches(rng: random.Random) -> list[Batch]:
    out = []
    for batch, height, width in [(2, 2, 3), (1, 3, 3)]:
        ids = labels(rng, (batch, height, width), range(3), "int64")
        y_true = one_hot(ids, 3, 1, "float32")
        y_true[0, 1, 0, 0] = NAN  # pixel 0 of sample 0 decodes to class 1
        planted = {1: NAN, 7: 2.0, 7 + height * width: 2.0}
        y_pred = scores(rng, (batch, 3, height, width), "float32", planted)
        out.append((y_true, y_pred, unit_weight("float64")))
    return out


def onehot_sparse_pred_batches(rng: random.Random) -> list[Batch]:
    out = []
    for batch, count in [(3, 5), (2, 4)]:
        ids = labels(rng, (batch, count), range(4), "int64")
        y_true = one_hot(ids, 4, -1, "uint8")
        y_pred = labels(rng, (batch, count), [0, 1, 2, 3, 4, -1], "int64")
        out.append((y_true, y_pred, unit_weight("int64")))
    return out


def _case(case_id, description, metric, params, export, make_batches) -> GoldenCase:
    return GoldenCase(case_id, description, metric, params, export, make_batches)


CASES = [
    _case(
        "iou_int64_with_empty_batch",
        "IoU of classes 0 and 2 over int64 batches of different shapes, the "
        "second one empty ([2, 0, 4]).",
        "IoU",
        {"num_classes": 4, "target_class_ids": [0, 2]},
        {"y_true_rank": 3, "y_pred_rank": 3},
        iou_int64_batches,
    ),
    _case(
        "meaniou_fractional_pixel_weights",
        "MeanIoU ignoring 255, fractional per-pixel weights (zeros included), "
        "out-of-range and negative ids on both sides.",
        "MeanIoU",
        {"num_classes": 5, "ignore_class": 255},
        {"y_true_rank": 3, "y_pred_rank": 3},
        fractional_pixel_batches,
    ),
    _case(
        "meaniou_ignore_near_inrange_far_int64",
        "MeanIoU ignoring an in-range class (2), 255 and a far id (5000), "
        "int64 state, whole per-sample weights, ids up to +-2**40.",
        "MeanIoU",
        {"num_classes": 6, "ignore_class": [2, 255, 5000], "state_dtype": "int64"},
        {"y_true_rank": 3, "y_pred_rank": 3},
        many_ignored_batches,
    ),
    _case(
        "meaniou_uint8_float32_state",
        "MeanIoU on uint8 labels ignoring 255, float32 state, per-pixel "
        "weights that are multiples of 1/4.",
        "MeanIoU",
        {"num_classes": 4, "ignore_class": 255, "state_dtype": "float32"},
        {"y_true_dtype": "uint8", "y_pred_dtype": "uint8"},
        uint8_batches,
    ),
    _case(
        "iou_int32_negative_labels",
        "IoU of classes 1, 3 and 4 on int32 labels in [-7, 7], int64 state, "
        "one weight of 3 for every pair.",
        "IoU",
        {"num_classes": 5, "target_class_ids": [1, 3, 4], "state_dtype": "int64"},
        {
            "y_true_dtype": "int32",
            "y_pred_dtype": "int32",
            "y_true_rank": 2,
            "y_pred_rank": 2,
        },
        int32_batches,
    ),
    _case(
        "meaniou_nan_float_labels",
        "MeanIoU ignoring 255 on float32 true and float64 predicted class ids: "
        "NaN, infinities and 1e30 are dropped, fractions truncate toward zero.",
        "MeanIoU",
        {"num_classes": 4, "ignore_class": 255},
        {"y_true_dtype": "float32", "y_pred_dtype": "float64"},
        nan_label_batches,
    ),
    _case(
        "meaniou_negative_and_far_ignores",
        "MeanIoU ignoring -2, -5000 and 7000, exported at opset 16.",
        "MeanIoU",
        {"num_classes": 3, "ignore_class": [-2, -5000, 7000]},
        {"opset": 16, "y_true_rank": 2, "y_pred_rank": 2},
        negative_far_ignore_batches,
    ),
    _case(
        "meaniou_onehot_matmul_kernel",
        "MeanIoU ignoring 255 with the onehot_matmul kernel, float32 state, "
        "three batches, exported at opset 21.",
        "MeanIoU",
        {
            "num_classes": 5,
            "ignore_class": 255,
            "state_dtype": "float32",
            "kernel": "onehot_matmul",
        },
        {"opset": 21},
        onehot_matmul_batches,
    ),
    _case(
        "iou_absent_target_zero_result",
        "IoU of class 3, which never occurs, on rank-1 labels: the result is "
        "0.0; class 2 occurs with weight 0 only, so its IoU is NaN.",
        "IoU",
        {"num_classes": 4, "target_class_ids": [3]},
        {"y_true_rank": 1, "y_pred_rank": 1},
        absent_target_batches,
    ),
    _case(
        "meaniou_logits_last_axis",
        "MeanIoU of float32 logits, class axis -1 ([B, H, W, C]): NaN wins the "
        "argmax and ties pick the first class; three batch shapes.",
        "MeanIoU",
        {"num_classes": 4, "sparse_y_pred": False},
        {"y_true_rank": 3, "y_pred_rank": 4},
        logits_last_axis_batches,
    ),
    _case(
        "iou_logits_axis1",
        "IoU of classes 0 and 2 ignoring 1, float32 logits with the class "
        "axis 1 ([B, C, H, W]), fractional per-sample weights.",
        "IoU",
        {
            "num_classes": 3,
            "target_class_ids": [0, 2],
            "ignore_class": 1,
            "sparse_y_pred": False,
            "axis": 1,
        },
        {"y_true_rank": 3, "y_pred_rank": 4},
        logits_axis1_batches,
    ),
    _case(
        "meaniou_labels_trailing_one",
        "MeanIoU of labels [B, H, W, 1] against logits [B, H, W, C], int64 "
        "state, whole per-pixel weights, label 3 out of range.",
        "MeanIoU",
        {"num_classes": 3, "sparse_y_pred": False, "state_dtype": "int64"},
        {"y_true_rank": 4, "y_pred_rank": 4},
        trailing_one_batches,
    ),
    _case(
        "binaryiou_default_threshold",
        "BinaryIoU at threshold 0.5: NaN and -inf scores are class 0, 0.5 and "
        "+inf class 1; true labels 2 and -1 are dropped.",
        "BinaryIoU",
        {},
        {"y_true_rank": 2, "y_pred_rank": 2},
        binary_default_batches,
    ),
    _case(
        "binaryiou_float64_scores_threshold",
        "BinaryIoU of class 1 at threshold 0.3 on float64 scores, compared in "
        "float32; uint8 labels, int64 state, per-sample weights.",
        "BinaryIoU",
        {"target_class_ids": [1], "threshold": 0.3, "state_dtype": "int64"},
        {
            "y_true_dtype": "uint8",
            "y_pred_dtype": "float64",
            "y_true_rank": 2,
            "y_pred_rank": 2,
        },
        binary_float64_batches,
    ),
    _case(
        "onehotiou_keras_example",
        "OneHotIoU of classes 0 and 2, the example of Keras's documentation: "
        "(0 / 0.9 + 0.1 / 0.7) / 2.",
        "OneHotIoU",
        {"num_classes": 3, "target_class_ids": [0, 2]},
        {"y_true_rank": 2, "y_pred_rank": 2},
        keras_example_batches,
    ),
    _case(
        "onehotmeaniou_int32_onehot",
        "OneHotMeanIoU ignoring class 1 on int32 one-hot labels and float64 "
        "scores with ties, float32 state, per-sample weights.",
        "OneHotMeanIoU",
        {"num_classes": 4, "ignore_class": 1, "state_dtype": "float32"},
        {
            "y_true_dtype": "int32",
            "y_pred_dtype": "float64",
            "y_true_rank": 3,
            "y_pred_rank": 3,
        },
        int32_onehot_batches,
    ),
    _case(
        "onehotmeaniou_axis1",
        "OneHotMeanIoU with the class axis 1 of float32 one-hot labels and "
        "scores ([B, C, H, W]), a NaN in each.",
        "OneHotMeanIoU",
        {"num_classes": 3, "axis": 1},
        {"y_true_rank": 4, "y_pred_rank": 4},
        onehot_axis1_batches,
    ),
    _case(
        "onehotiou_sparse_pred",
        "OneHotIoU of classes 1 and 2 on uint8 one-hot labels and int64 "
        "predicted ids (4 and -1 dropped), int64 state.",
        "OneHotIoU",
        {
            "num_classes": 4,
            "target_class_ids": [1, 2],
            "sparse_y_pred": True,
            "state_dtype": "int64",
        },
        {
            "y_true_dtype": "uint8",
            "y_pred_dtype": "int64",
            "y_true_rank": 3,
            "y_pred_rank": 2,
        },
        onehot_sparse_pred_batches,
    ),
]
