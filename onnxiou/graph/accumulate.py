"""Accumulate stage: the weighted count of pairs per buffer cell.

Two kernels compute the same ``[rows, cols]`` buffer:

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
    """Build ``buffer(rows, cols, weight)`` with a scatter-add."""
    num_rows = layout.rows
    num_cols = layout.cols

    @script(default_opset=op)
    def scatter_add_cells(rows, cols, weight):
        cells = op.Add(op.Mul(rows, op.Constant(value_int=num_cols)), cols)
        zero = op.CastLike(op.Constant(value_float=0.0), weight)
        empty = op.Expand(zero, op.Constant(value_ints=[num_rows * num_cols]))
        flat = op.ScatterElements(empty, cells, weight, axis=0, reduction="add")
        return op.Reshape(flat, op.Constant(value_ints=[num_rows, num_cols]))

    return scatter_add_cells


def onehot_matmul_kernel(op: Opset, layout: BinLayout) -> OnnxFunction:
    """Build ``buffer(rows, cols, weight)`` with a one-hot matrix product.

    OneHot runs on (int64 indices, int64 depth, float values), the type
    triple both the CPU and the CUDA provider register; the product is
    then taken in the weight's type.
    """
    num_rows = layout.rows
    num_cols = layout.cols

    @script(default_opset=op)
    def onehot_matmul_cells(rows, cols, weight):
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
