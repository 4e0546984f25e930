"""Mask stage: clip each (true, predicted) pair to the buffer's coordinates.

No pair is removed here. Out-of-range labels, ignored classes and (through
the decode stage) NaN labels are clipped onto coordinates outside the
confusion matrix, laid out by :mod:`onnxiou.graph.layout`, so that a single
accumulation counts everything and the reduce stage reads the matrix, the
ignored weight and the dropped weight from fixed places.

The outputs are labels, not buffer indices: ``true_row`` is y_true clipped
to ``[low, high]`` (far ignored ids become ``far_row + low``) and
``pred_col`` is y_pred clipped to ``[-1, num_classes]``. Each kernel adds
the ``-low`` and ``+1`` shifts its own way, so the scatter kernel spends no
pass over the pixels on them. Both outputs have the index dtype of
:func:`index_dtype`.
"""

from __future__ import annotations

import numpy as np
import onnx.numpy_helper
from onnxscript import script
from onnxscript.values import OnnxFunction, Opset

from onnxiou.graph.layout import BinLayout

# ONNX element types (TensorProto.DataType) of the two label dtypes.
ELEMENT_TYPES = {"int32": 6, "int64": 7}


def index_dtype(layout: BinLayout, true_dtype: str, pred_dtype: str) -> str:
    """Return the integer dtype of the mask's outputs and the cell indices.

    int64 labels on both sides stay int64, because casting both would cost
    more than the narrower arithmetic saves. Otherwise the clipped labels
    fit int32, and so does every cell index of a buffer below 2**31 cells.
    """
    if layout.rows * layout.cols >= 2**31:
        return "int64"
    if true_dtype == pred_dtype == "int64":
        return "int64"
    return "int32"


def scalar(value: int, dtype: str) -> onnx.TensorProto:
    """Return a scalar tensor of ``dtype``, for ``op.Constant(value=...)``.

    onnxscript wraps a numpy constant in CastLike, which onnxruntime does
    not fold, so each would cost a node per run.
    """
    return onnx.numpy_helper.from_array(np.array(value, dtype=dtype))


def cell_coordinates(
    op: Opset, layout: BinLayout, true_dtype: str = "int64", pred_dtype: str = "int64"
) -> OnnxFunction:
    """Build ``(true_row, pred_col) = coordinates(y_true, y_pred)``.

    ``true_dtype`` and ``pred_dtype`` are the decoded labels' dtypes,
    ``"int32"`` or ``"int64"``; the inputs are flat. Labels are clipped
    with Max then Min, because onnxruntime 1.32's CPU Clip on int64 took
    about as long as both together plus a third pass (tools/bench.py
    inputs, 1M pixels, AMD EPYC).
    """
    index = index_dtype(layout, true_dtype, pred_dtype)
    index_type = ELEMENT_TYPES[index]
    cast_true = true_dtype != index
    cast_pred = pred_dtype != index
    true_low = scalar(layout.low, true_dtype)
    true_high = scalar(layout.high, true_dtype)
    pred_low = scalar(-1, pred_dtype)
    pred_high = scalar(layout.num_classes, pred_dtype)
    has_far = bool(layout.far_ignored)
    # Far ignored ids are compared in int64 on the unclipped labels, so an
    # id outside int32 never matches a wrapped value.
    far_ids = onnx.numpy_helper.from_array(
        np.array(layout.far_ignored or (0,), dtype=np.int64)
    )
    far_row_label = scalar(layout.far_row + layout.low, true_dtype)

    @script(default_opset=op)
    def pair_cells(y_true, y_pred):
        true_row = op.Min(
            op.Max(y_true, op.Constant(value=true_low)), op.Constant(value=true_high)
        )
        if has_far:
            wide = op.Unsqueeze(op.Cast(y_true, to=7), op.Constant(value_ints=[-1]))
            matches = op.Cast(op.Equal(wide, op.Constant(value=far_ids)), to=7)
            hits = op.ReduceSum(matches, op.Constant(value_ints=[-1]), keepdims=0)
            far_row = op.Constant(value=far_row_label)
            true_row = op.Where(op.Cast(hits, to=9), far_row, true_row)
        if cast_true:
            true_row = op.Cast(true_row, to=index_type)
        pred_col = op.Min(
            op.Max(y_pred, op.Constant(value=pred_low)), op.Constant(value=pred_high)
        )
        if cast_pred:
            pred_col = op.Cast(pred_col, to=index_type)
        return true_row, pred_col

    return pair_cells
