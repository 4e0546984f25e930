"""Reduce stage: from the accumulation buffer to the matrix, and to IoU.

``split_buffer`` reads a batch's confusion matrix, ignored weight and
dropped weight out of the buffer (see :mod:`onnxiou.graph.layout`).
``iou_scores`` turns an accumulated matrix into per-class IoU,
``TP / (TP + FP + FN)``, and the mean over the target classes whose
denominator is not zero (0.0 when none is). It divides in float64, so a
perfect score is exactly 1.0, and returns float32.
"""

from __future__ import annotations

import numpy as np
import onnx.numpy_helper
from onnxscript import script
from onnxscript.values import OnnxFunction, Opset

from onnxiou.graph.layout import BinLayout


def split_buffer(op: Opset, layout: BinLayout, state_dtype: str) -> OnnxFunction:
    """Build ``(matrix, ignored, dropped) = split(buffer)``.

    The constants are typed with ``state_dtype``, the buffer's dtype, so
    onnxruntime folds them. The rows of ignored classes are zeroed only
    when some class in ``[0, num_classes)`` is ignored.
    """
    first = layout.first_class_row
    classes = layout.num_classes
    ignored_rows = layout.ignored_rows() or [0]
    has_ignored = bool(layout.ignored_rows())
    outside_rows = layout.outside_rows()
    kept = np.array(layout.kept_class_rows(), dtype=state_dtype).reshape(-1, 1)
    drops_class_rows = not kept.all()
    keep_column = onnx.numpy_helper.from_array(kept)
    zero = onnx.numpy_helper.from_array(np.array(0, dtype=state_dtype))
    edge_cols = [0, classes + 1]

    @script(default_opset=op)
    def split_cells(buffer):
        class_block = op.Slice(
            buffer,
            op.Constant(value_ints=[first]),
            op.Constant(value_ints=[first + classes]),
            op.Constant(value_ints=[0]),
        )
        matrix = op.Slice(
            class_block,
            op.Constant(value_ints=[1]),
            op.Constant(value_ints=[classes + 1]),
            op.Constant(value_ints=[1]),
        )
        off_columns = op.Gather(class_block, op.Constant(value_ints=edge_cols), axis=1)
        if drops_class_rows:
            matrix = op.Mul(matrix, op.Constant(value=keep_column))
            off_columns = op.Mul(off_columns, op.Constant(value=keep_column))
        off_rows = op.Gather(buffer, op.Constant(value_ints=outside_rows), axis=0)
        dropped = op.Add(
            op.ReduceSum(off_columns, keepdims=0), op.ReduceSum(off_rows, keepdims=0)
        )
        if has_ignored:
            ignored_block = op.Gather(
                buffer, op.Constant(value_ints=ignored_rows), axis=0
            )
            ignored = op.ReduceSum(ignored_block, keepdims=0)
        else:
            ignored = op.Constant(value=zero)
        return matrix, ignored, dropped

    return split_cells


def iou_scores(op: Opset, num_classes: int, target_class_ids: list[int]) -> OnnxFunction:
    """Build ``(result, per_class_iou) = scores(total_cm)``."""
    diagonal = [k * (num_classes + 1) for k in range(num_classes)]
    targets = list(target_class_ids)
    not_a_number = float("nan")

    @script(default_opset=op)
    def iou_from_matrix(total_cm):
        matrix = op.Cast(total_cm, to=11)
        true_positives = op.Gather(
            op.Reshape(matrix, op.Constant(value_ints=[-1])),
            op.Constant(value_ints=diagonal),
        )
        row_sums = op.ReduceSum(matrix, op.Constant(value_ints=[1]), keepdims=0)
        col_sums = op.ReduceSum(matrix, op.Constant(value_ints=[0]), keepdims=0)
        denominator = op.Sub(op.Add(row_sums, col_sums), true_positives)
        zero = op.Cast(op.Constant(value_float=0.0), to=11)
        present = op.Greater(denominator, zero)
        one = op.Cast(op.Constant(value_float=1.0), to=11)
        safe = op.Where(present, denominator, one)
        nan = op.Cast(op.Constant(value_float=not_a_number), to=11)
        iou = op.Where(present, op.Div(true_positives, safe), nan)
        target_present = op.Cast(
            op.Gather(present, op.Constant(value_ints=targets)), to=11
        )
        target_iou = op.Where(
            op.Gather(present, op.Constant(value_ints=targets)),
            op.Gather(iou, op.Constant(value_ints=targets)),
            zero,
        )
        count = op.ReduceSum(target_present, keepdims=0)
        total = op.ReduceSum(target_iou, keepdims=0)
        mean = op.Div(total, op.Max(count, one))
        return op.Cast(mean, to=1), op.Cast(iou, to=1)

    return iou_from_matrix
