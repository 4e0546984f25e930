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

import numpy as np
import onnx.numpy_helper
from onnxscript import script
from onnxscript.values import OnnxFunction, Opset

from onnxiou.graph.layout import BinLayout
from onnxiou.graph.mask import scalar

KERNELS = ("scatter", "onehot_matmul")


def scatter_kernel(
    op: Opset, layout: BinLayout, index_dtype: str, weight_dtype: str
) -> OnnxFunction:
    """Build ``buffer(true_row, pred_col, weight)`` with a scatter-add.

    The flat index ``true_row * cols + pred_col`` skips the layout's shifts
    (``-low`` rows, ``+1`` column), which would cost one more pass over the
    pixels. It lies in ``[low * cols - 1, high * cols + num_classes]``, a
    span shorter than the buffer, and ScatterElements counts a negative
    index from the end, so each cell lands at its layout index minus
    ``offset``, modulo the buffer size. Two slices of the small buffer,
    concatenated, put every cell back in layout order. (A Gather with the
    permutation did the same about 10 times slower: 184 us for 150 classes
    in onnxruntime 1.32's profiler.)

    ``index_dtype`` is the mask's output dtype and ``weight_dtype`` the
    weight's, so every constant is typed when the graph is built.
    """
    num_rows = layout.rows
    num_cols = layout.cols
    size = num_rows * num_cols
    offset = -layout.low * num_cols + 1
    split = size - offset
    stride = scalar(num_cols, index_dtype)
    zero = onnx.numpy_helper.from_array(np.zeros(1, dtype=weight_dtype))

    @script(default_opset=op)
    def scatter_add_cells(true_row, pred_col, weight):
        cells = op.Add(op.Mul(true_row, op.Constant(value=stride)), pred_col)
        empty = op.ConstantOfShape(op.Constant(value_ints=[size]), value=zero)
        rotated = op.ScatterElements(empty, cells, weight, axis=0, reduction="add")
        head = op.Slice(
            rotated, op.Constant(value_ints=[split]), op.Constant(value_ints=[size])
        )
        tail = op.Slice(
            rotated, op.Constant(value_ints=[0]), op.Constant(value_ints=[split])
        )
        flat = op.Concat(head, tail, axis=0)
        return op.Reshape(flat, op.Constant(value_ints=[num_rows, num_cols]))

    return scatter_add_cells


def onehot_matmul_kernel(op: Opset, layout: BinLayout) -> OnnxFunction:
    """Build ``buffer(true_row, pred_col, weight)`` with a one-hot matrix product.

    OneHot runs on (int64 indices, int64 depth, float values), the type
    triple both the CPU and the CUDA provider register; the product is
    then taken in the weight's type.

    Two run-time failures of onnxruntime 1.16 to 1.24 on CPU, measured with
    tools/old_runtimes.py, shape the graph. A Transpose before the MatMul
    becomes com.microsoft's FusedMatMul, which has no float64 kernel there,
    so the true labels' one-hot matrix is built as ``[rows, N]``
    (``axis=0``). OneHot along the last axis of empty indices kills the
    process with SIGFPE, so one pair of weight 0 in cell ``(0, 0)`` is
    appended, which adds 0 to that cell.
    """
    num_rows = layout.rows
    num_cols = layout.cols
    low = layout.low

    @script(default_opset=op)
    def onehot_matmul_cells(true_row, pred_col, weight):
        rows = op.Sub(op.Cast(true_row, to=7), op.Constant(value_int=low))
        cols = op.Add(op.Cast(pred_col, to=7), op.Constant(value_int=1))
        padding = op.Constant(value_ints=[0])
        padded_rows = op.Concat(rows, padding, axis=0)
        padded_cols = op.Concat(cols, padding, axis=0)
        zero_weight = op.CastLike(op.Constant(value_floats=[0.0]), weight)
        padded_weight = op.Concat(weight, zero_weight, axis=0)
        off_on = op.Constant(value_floats=[0.0, 1.0])
        true_onehot = op.CastLike(
            op.OneHot(padded_rows, op.Constant(value_int=num_rows), off_on, axis=0),
            weight,
        )
        pred_onehot = op.CastLike(
            op.OneHot(padded_cols, op.Constant(value_int=num_cols), off_on, axis=-1),
            weight,
        )
        weighted = op.Mul(
            pred_onehot, op.Unsqueeze(padded_weight, op.Constant(value_ints=[-1]))
        )
        return op.MatMul(true_onehot, weighted)

    return onehot_matmul_cells


def kernel_function(
    name: str,
    op: Opset,
    layout: BinLayout,
    index_dtype: str = "int64",
    weight_dtype: str = "float64",
) -> OnnxFunction:
    """Return the accumulate function of kernel ``name``.

    ``index_dtype`` is the dtype of the mask's outputs and ``weight_dtype``
    the state dtype, which the weight has.
    """
    if name == "scatter":
        return scatter_kernel(op, layout, index_dtype, weight_dtype)
    if name == "onehot_matmul":
        return onehot_matmul_kernel(op, layout)
    raise ValueError(
        f"Expected argument `kernel` to be one of {list(KERNELS)}, but got {name!r}."
    )
