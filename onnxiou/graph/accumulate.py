"""Accumulate stage: the weighted count of pairs per buffer cell.

Both kernels take the mask stage's ``(true_row, pred_col)`` labels and
compute the same ``[rows, cols]`` buffer laid out by
:mod:`onnxiou.graph.layout`:

* ``scatter``: one ScatterElements with ``reduction="add"`` over a flat
  cell index. It reads each pixel once and is the fastest on CPU.
* ``onehot_matmul``: ``OneHot(rows)^T @ (OneHot(cols) * weight)``. It needs
  no scatter op, for providers that lack a scatter-add, at the cost of
  ``N x (rows + cols)`` intermediates; callers feed it bounded chunks.

With integer weights both are exact and equal. With fractional weights
they add in different orders, so they agree to rounding only.
"""

from __future__ import annotations

from onnxscript import script
from onnxscript.values import OnnxFunction, Opset

from onnxiou.graph.layout import BinLayout

KERNELS = ("scatter", "onehot_matmul")


def scatter_kernel(op: Opset, layout: BinLayout) -> OnnxFunction:
    """Build ``buffer(true_row, pred_col, weight)`` with a scatter-add.

    The flat index ``true_row * cols + pred_col`` skips the layout's shifts
    (``-low`` rows, ``+1`` column), which would cost one more pass over the
    pixels. It lies in ``[low * cols - 1, high * cols + num_classes]``, a
    span shorter than the buffer, and ScatterElements counts a negative
    index from the end, so each cell lands at its layout index minus
    ``offset``, modulo the buffer size. One Gather over the small buffer
    then puts every cell back in layout order.
    """
    num_rows = layout.rows
    num_cols = layout.cols
    size = num_rows * num_cols
    offset = -layout.low * num_cols + 1
    layout_order = [(cell - offset) % size for cell in range(size)]

    @script(default_opset=op)
    def scatter_add_cells(true_row, pred_col, weight):
        stride = op.CastLike(op.Constant(value_int=num_cols), true_row)
        cells = op.Add(op.Mul(true_row, stride), pred_col)
        zero = op.CastLike(op.Constant(value_float=0.0), weight)
        empty = op.Expand(zero, op.Constant(value_ints=[size]))
        rotated = op.ScatterElements(empty, cells, weight, axis=0, reduction="add")
        flat = op.Gather(rotated, op.Constant(value_ints=layout_order), axis=0)
        return op.Reshape(flat, op.Constant(value_ints=[num_rows, num_cols]))

    return scatter_add_cells


def onehot_matmul_kernel(op: Opset, layout: BinLayout) -> OnnxFunction:
    """Build ``buffer(true_row, pred_col, weight)`` with a one-hot matrix product.

    OneHot runs on (int64 indices, int64 depth, float values), the type
    triple both the CPU and the CUDA provider register; the product is
    then taken in the weight's type.
    """
    num_rows = layout.rows
    num_cols = layout.cols
    low = layout.low

    @script(default_opset=op)
    def onehot_matmul_cells(true_row, pred_col, weight):
        rows = op.Sub(op.Cast(true_row, to=7), op.Constant(value_int=low))
        cols = op.Add(op.Cast(pred_col, to=7), op.Constant(value_int=1))
        off_on = op.Constant(value_floats=[0.0, 1.0])
        true_onehot = op.CastLike(
            op.OneHot(rows, op.Constant(value_int=num_rows), off_on, axis=-1), weight
        )
        pred_onehot = op.CastLike(
            op.OneHot(cols, op.Constant(value_int=num_cols), off_on, axis=-1), weight
        )
        weighted = op.Mul(
            pred_onehot, op.Unsqueeze(weight, op.Constant(value_ints=[-1]))
        )
        return op.MatMul(op.Transpose(true_onehot, perm=[1, 0]), weighted)

    return onehot_matmul_cells


def kernel_function(name: str, op: Opset, layout: BinLayout) -> OnnxFunction:
    """Return the accumulate function of kernel ``name``."""
    if name == "scatter":
        return scatter_kernel(op, layout)
    if name == "onehot_matmul":
        return onehot_matmul_kernel(op, layout)
    raise ValueError(
        f"Expected argument `kernel` to be one of {list(KERNELS)}, but got {name!r}."
    )
