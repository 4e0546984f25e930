"""Stage formulations for the CUDA and TensorRT profiles.

Each function here builds the same stage as its counterpart in
:mod:`~onnxiou.graph.decode`, :mod:`~onnxiou.graph.mask`,
:mod:`~onnxiou.graph.accumulate` or :mod:`~onnxiou.graph.reduce`, and gives
the same values. The one exception is an int64 state: one call sums it in
the profile's float type, which is exact up to 2**53 (float64) or 2**24
(float32) per cell. The stages use only ops and types for which the CPU,
CUDA and TensorRT providers have a kernel at opsets 16-21, according to the
facts in ``onnxiou/data/ep_kernels.json``:

* Cast to a type fixed at export time replaces CastLike, and Gather
  replaces Slice, because the recorded CUDA and TensorRT facts list
  neither CastLike nor Slice.
* Min and Max replace Clip on int64 labels: TensorRT's Clip takes floats only.
* Less, Greater, Or and Not replace Equal. CUDA registers Equal only up to
  its opset-13 schema, so opsets 19 and later have no CUDA Equal kernel.
* Shape replaces Size, which CUDA registers only up to its opset-13 schema.
* Cast to int64 replaces Identity, which has no CUDA kernel at opset 21.
* The accumulation runs in a float type and is cast to the state type.
  CUDA's scatter-add on int64 data does float arithmetic on integer bits,
  and neither CUDA nor TensorRT has an integer MatMul.
"""

from __future__ import annotations

import numpy as np
import onnx.helper
from onnxscript import script
from onnxscript.values import OnnxFunction, Opset

from onnxiou._spec import IGNORE_LIMIT
from onnxiou.graph.layout import BinLayout

# Float labels are clipped into this range before the cast to int64, as in
# onnxiou.graph.decode, so the cast never overflows.
_FLOAT_LABEL_LIMIT = float(IGNORE_LIMIT)


def element_type(dtype: str) -> int:
    """Return the ONNX element type (``TensorProto.DataType``) of a numpy dtype."""
    return onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def sparse_labels(op: Opset, dtype: str) -> OnnxFunction:
    """Build ``labels(x) -> int64`` for class ids of numpy dtype ``dtype``.

    Floats truncate toward zero and NaN becomes -1, as in
    :func:`onnxiou.graph.decode.sparse_labels`. Float labels are widened to
    float64 first, which every float type converts to exactly, so one
    function body serves y_true and y_pred of different float types.
    """
    if np.dtype(dtype).kind != "f":
        return _int_labels(op)
    return _float_labels(op)


def _int_labels(op: Opset) -> OnnxFunction:
    @script(default_opset=op)
    def int_label_to_int64(x):
        return op.Cast(x, to=7)

    return int_label_to_int64


def _float_labels(op: Opset) -> OnnxFunction:
    limit = _FLOAT_LABEL_LIMIT

    @script(default_opset=op)
    def float_label_to_int64(x):
        wide = op.Cast(x, to=11)
        low = op.Cast(op.Constant(value_float=-limit), to=11)
        finite = op.Where(op.IsNaN(wide), low, wide)
        high = op.Cast(op.Constant(value_float=limit), to=11)
        return op.Cast(op.Clip(finite, low, high), to=7)

    return float_label_to_int64


def spread_weight(op: Opset) -> OnnxFunction:
    """Build ``weight_per_pair(sample_weight, labels)``, flat.

    Gives the values of :func:`onnxiou.graph.decode.spread_weight`: the
    labels are viewed as ``[L, N / L]`` for a weight of length ``L``, and
    the weight column is expanded to that shape.
    """

    @script(default_opset=op)
    def weight_per_pair(sample_weight, labels):
        count = op.Shape(sample_weight)
        grid_shape = op.Concat(count, op.Constant(value_ints=[-1]), axis=0)
        grid = op.Reshape(labels, grid_shape)
        column = op.Reshape(sample_weight, op.Constant(value_ints=[-1, 1]))
        spread = op.Expand(column, op.Shape(grid))
        return op.Reshape(spread, op.Constant(value_ints=[-1]))

    return weight_per_pair


def cell_coordinates(op: Opset, layout: BinLayout) -> OnnxFunction:
    """Build ``(rows, cols) = coordinates(y_true, y_pred)`` on flat int64 labels.

    Gives the buffer rows and columns laid out by :mod:`onnxiou.graph.layout`.
    """
    low = layout.low
    high = layout.high
    top_class = layout.num_classes
    far_ids = list(layout.far_ignored) or [0]
    far_row_label = layout.far_row + low
    has_far = bool(layout.far_ignored)

    @script(default_opset=op)
    def pair_cells(y_true, y_pred):
        true_clipped = op.Max(
            op.Min(y_true, op.Constant(value_int=high)), op.Constant(value_int=low)
        )
        if has_far:
            column = op.Unsqueeze(y_true, op.Constant(value_ints=[-1]))
            ids = op.Constant(value_ints=far_ids)
            differs = op.Or(op.Less(column, ids), op.Greater(column, ids))
            hits = op.ReduceSum(
                op.Cast(op.Not(differs), to=7), op.Constant(value_ints=[-1]), keepdims=0
            )
            true_clipped = op.Where(
                op.Cast(hits, to=9), op.Constant(value_int=far_row_label), true_clipped
            )
        rows = op.Sub(true_clipped, op.Constant(value_int=low))
        pred_clipped = op.Max(
            op.Min(y_pred, op.Constant(value_int=top_class)), op.Constant(value_int=-1)
        )
        cols = op.Add(pred_clipped, op.Constant(value_int=1))
        return rows, cols

    return pair_cells


def scatter_kernel(
    op: Opset, layout: BinLayout, compute_type: int, state_type: int
) -> OnnxFunction:
    """Build ``buffer(rows, cols, weight)`` with a scatter-add in ``compute_type``.

    The buffer is returned in ``state_type``. ScatterElements gets int64
    indices, the only index type of TensorRT's scatter plugin.
    """
    num_rows = layout.rows
    num_cols = layout.cols

    @script(default_opset=op)
    def scatter_add_cells(rows, cols, weight):
        cells = op.Add(op.Mul(rows, op.Constant(value_int=num_cols)), cols)
        addends = op.Cast(weight, to=compute_type)
        zero = op.Cast(op.Constant(value_float=0.0), to=compute_type)
        empty = op.Expand(zero, op.Constant(value_ints=[num_rows * num_cols]))
        flat = op.ScatterElements(empty, cells, addends, axis=0, reduction="add")
        buffer = op.Reshape(flat, op.Constant(value_ints=[num_rows, num_cols]))
        return op.Cast(buffer, to=state_type)

    return scatter_add_cells


def onehot_matmul_kernel(
    op: Opset, layout: BinLayout, compute_type: int, state_type: int
) -> OnnxFunction:
    """Build ``buffer(rows, cols, weight)`` as a one-hot product in ``compute_type``.

    OneHot takes (int64 indices, constant int64 depth, float values), which
    CPU and CUDA register and TensorRT needs as a build-time constant. The
    buffer is returned in ``state_type``.

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

    @script(default_opset=op)
    def onehot_matmul_cells(rows, cols, weight):
        padding = op.Constant(value_ints=[0])
        padded_rows = op.Concat(rows, padding, axis=0)
        padded_cols = op.Concat(cols, padding, axis=0)
        zero_weight = op.Cast(op.Constant(value_floats=[0.0]), to=compute_type)
        addends = op.Concat(op.Cast(weight, to=compute_type), zero_weight, axis=0)
        off_on = op.Constant(value_floats=[0.0, 1.0])
        true_onehot = op.Cast(
            op.OneHot(padded_rows, op.Constant(value_int=num_rows), off_on, axis=0),
            to=compute_type,
        )
        pred_onehot = op.Cast(
            op.OneHot(padded_cols, op.Constant(value_int=num_cols), off_on, axis=-1),
            to=compute_type,
        )
        column = op.Unsqueeze(addends, op.Constant(value_ints=[-1]))
        weighted = op.Mul(pred_onehot, column)
        buffer = op.MatMul(true_onehot, weighted)
        return op.Cast(buffer, to=state_type)

    return onehot_matmul_cells


def kernel_function(
    name: str, op: Opset, layout: BinLayout, compute_dtype: str, state_dtype: str
) -> OnnxFunction:
    """Return the accumulate function of kernel ``name``, summing in ``compute_dtype``.

    Raises ValueError for an unknown kernel name.
    """
    compute_type = element_type(compute_dtype)
    state_type = element_type(state_dtype)
    if name == "scatter":
        return scatter_kernel(op, layout, compute_type, state_type)
    if name == "onehot_matmul":
        return onehot_matmul_kernel(op, layout, compute_type, state_type)
    raise ValueError(
        "Expected argument `kernel` to be one of ['scatter', 'onehot_matmul'], "
        f"but got {name!r}."
    )


def split_buffer(op: Opset, layout: BinLayout, state_dtype: str) -> OnnxFunction:
    """Build ``(matrix, ignored, dropped) = split(buffer)`` of a ``state_dtype`` buffer.

    The function reads the cells that :func:`onnxiou.graph.reduce.split_buffer`
    reads.
    """
    state_type = element_type(state_dtype)
    first = layout.first_class_row
    classes = layout.num_classes
    class_rows = list(range(first, first + classes))
    class_cols = list(range(1, classes + 1))
    ignored_rows = layout.ignored_rows() or [0]
    has_ignored = bool(layout.ignored_rows())
    outside_rows = layout.outside_rows()
    kept = layout.kept_class_rows()
    edge_cols = [0, classes + 1]

    @script(default_opset=op)
    def split_cells(buffer):
        class_block = op.Gather(buffer, op.Constant(value_ints=class_rows), axis=0)
        keep = op.Cast(op.Constant(value_floats=kept), to=state_type)
        keep_column = op.Unsqueeze(keep, op.Constant(value_ints=[1]))
        class_cells = op.Gather(class_block, op.Constant(value_ints=class_cols), axis=1)
        matrix = op.Mul(class_cells, keep_column)
        off_columns = op.Mul(
            op.Gather(class_block, op.Constant(value_ints=edge_cols), axis=1),
            keep_column,
        )
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
            ignored = op.Cast(op.Constant(value_float=0.0), to=state_type)
        return matrix, ignored, dropped

    return split_cells
