"""Mask stage: send each (true, predicted) pair to its cell of the buffer.

No pair is removed here. Out-of-range labels, ignored classes and (through
the decode stage) NaN labels are routed to cells outside the confusion
matrix, laid out by :mod:`onnxiou.graph.layout`, so that a single
accumulation counts everything and the reduce stage reads the matrix, the
ignored weight and the dropped weight from fixed places.
"""

from __future__ import annotations

from onnxscript import script
from onnxscript.values import OnnxFunction, Opset

from onnxiou.graph.layout import BinLayout


def cell_coordinates(op: Opset, layout: BinLayout) -> OnnxFunction:
    """Build ``(rows, cols) = coordinates(y_true, y_pred)`` on flat int64 labels."""
    low = layout.low
    high = layout.high
    top_class = layout.num_classes
    far_ids = list(layout.far_ignored) or [0]
    far_row_label = layout.far_row + low
    has_far = bool(layout.far_ignored)

    @script(default_opset=op)
    def pair_cells(y_true, y_pred):
        true_clipped = op.Clip(
            y_true, op.Constant(value_int=low), op.Constant(value_int=high)
        )
        if has_far:
            matches = op.Equal(
                op.Unsqueeze(y_true, op.Constant(value_ints=[-1])),
                op.Constant(value_ints=far_ids),
            )
            hits = op.ReduceSum(
                op.Cast(matches, to=7), op.Constant(value_ints=[-1]), keepdims=0
            )
            true_clipped = op.Where(
                op.Cast(hits, to=9), op.Constant(value_int=far_row_label), true_clipped
            )
        rows = op.Sub(true_clipped, op.Constant(value_int=low))
        pred_clipped = op.Clip(
            y_pred, op.Constant(value_int=-1), op.Constant(value_int=top_class)
        )
        cols = op.Add(pred_clipped, op.Constant(value_int=1))
        return rows, cols

    return pair_cells
