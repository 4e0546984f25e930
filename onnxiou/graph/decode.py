"""Decode stage: turn raw ``y_true`` / ``y_pred`` into integer class labels.

Sparse labels become integers: int64 labels stay as they are, other
integer types become int32, and floats become int64 (truncated toward
zero, as Keras does; NaN becomes -2**62 and so is dropped later). Dense
labels and logits are reduced by an argmax over ``axis`` whose ties pick
the first index and where a NaN wins, as in ``numpy.argmax``. BinaryIoU
scores become class 1 when ``>= threshold``. The weight is spread over
the decoded labels.
"""

from __future__ import annotations

from onnxscript import script
from onnxscript.values import OnnxFunction, Opset

from onnxiou._spec import IGNORE_LIMIT

# Float labels are clipped into this range before the cast to int64, so the
# cast cannot overflow. Labels this far out are dropped as out of range.
_FLOAT_LABEL_LIMIT = float(IGNORE_LIMIT)


def label_dtype(input_kind: str, sparse: bool) -> str:
    """Return the dtype of decoded labels: ``"int32"`` or ``"int64"``.

    Only sparse labels of the ``"int"`` kind (uint8, int32) decode to
    int32, which saves a widening pass; argmax and threshold give int64.
    """
    return "int32" if sparse and input_kind == "int" else "int64"


def sparse_labels(op: Opset, input_kind: str) -> OnnxFunction:
    """Build ``labels(x)`` for labels given as class ids.

    ``input_kind`` is ``"int64"`` (used as is), ``"int"`` (another integer
    type, cast to int32) or ``"float"`` (to int64); :func:`label_dtype`
    names the result's dtype. Each kind is its own function with a body
    that depends on nothing else, so y_true and y_pred may share one.
    """
    limit = _FLOAT_LABEL_LIMIT

    @script(default_opset=op)
    def float_label_to_int64(x):
        low = op.CastLike(op.Constant(value_float=-limit), x)
        finite = op.Where(op.IsNaN(x), low, x)
        high = op.CastLike(op.Constant(value_float=limit), x)
        return op.Cast(op.Clip(finite, low, high), to=7)

    @script(default_opset=op)
    def int_label_to_int32(x):
        return op.Cast(x, to=6)

    @script(default_opset=op)
    def int64_label(x):
        return op.Identity(x)

    kinds = {
        "float": float_label_to_int64,
        "int": int_label_to_int32,
        "int64": int64_label,
    }
    return kinds[input_kind]


def argmax_labels(
    op: Opset, axis: int, float_input: bool, nan_check: bool = False
) -> OnnxFunction:
    """Build ``labels(x) -> int64``: argmax over ``axis``, first NaN wins.

    onnxruntime's ArgMax skips a NaN unless it comes first, so the first NaN
    of each row is found separately (an ArgMax over the NaN mask) and takes
    precedence wherever the row has one. Integer input (one-hot ints) is
    cast to float64 first, a type the CPU and CUDA ArgMax kernels take,
    which orders integers exactly up to 2**53.

    With ``nan_check``, an If runs that NaN search only when the sum of the
    whole batch is NaN, which it is whenever an element is NaN (and also
    when the batch contains both infinities, or overflows both ways). Other
    batches take one plain ArgMax.
    """

    @script(default_opset=op)
    def argmax_to_int64(x):
        nan_mask = op.Cast(op.IsNaN(x), to=1)
        first_nan = op.ArgMax(nan_mask, axis=axis, keepdims=1)
        best = op.ArgMax(x, axis=axis, keepdims=1)
        nan_count = op.ReduceSum(nan_mask, op.Constant(value_ints=[axis]), keepdims=1)
        row_has_nan = op.Greater(nan_count, op.Constant(value_float=0.0))
        labels = op.Where(row_has_nan, first_nan, best)
        return op.Squeeze(labels, op.Constant(value_ints=[axis]))

    @script(default_opset=op)
    def checked_argmax_to_int64(x):
        if op.IsNaN(op.ReduceSum(x, keepdims=0)):
            nan_mask = op.Cast(op.IsNaN(x), to=1)
            first_nan = op.ArgMax(nan_mask, axis=axis, keepdims=1)
            best = op.ArgMax(x, axis=axis, keepdims=1)
            nan_count = op.ReduceSum(
                nan_mask, op.Constant(value_ints=[axis]), keepdims=1
            )
            row_has_nan = op.Greater(nan_count, op.Constant(value_float=0.0))
            found = op.Where(row_has_nan, first_nan, best)
            labels = op.Squeeze(found, op.Constant(value_ints=[axis]))
        else:
            labels = op.ArgMax(x, axis=axis, keepdims=0)
        return labels

    @script(default_opset=op)
    def int_argmax_to_int64(x):
        labels = op.ArgMax(op.Cast(x, to=11), axis=axis, keepdims=0)
        return labels

    if not float_input:
        return int_argmax_to_int64
    return checked_argmax_to_int64 if nan_check else argmax_to_int64


def threshold_labels(op: Opset, threshold: float) -> OnnxFunction:
    """Build ``labels(x) -> int64``: 1 where ``float32(x) >= threshold``."""

    @script(default_opset=op)
    def threshold_to_int64(x):
        scores = op.Cast(x, to=1)
        above = op.GreaterOrEqual(scores, op.Constant(value_float=threshold))
        return op.Cast(above, to=7)

    return threshold_to_int64


def spread_weight(op: Opset) -> OnnxFunction:
    """Build ``weight_per_pair(sample_weight, labels)``, flat.

    ``sample_weight`` is 1-D with length 1 (one weight for every pair), ``B``
    (one per sample: each covers ``N / B`` consecutive pairs of the C-order
    flattened labels) or ``N`` (one per pair). All three are the same
    reshape to ``[L, 1]`` and expand to ``[L, N / L]``.
    """

    @script(default_opset=op)
    def weight_per_pair(sample_weight, labels):
        count = op.Size(sample_weight)
        pairs = op.Size(labels)
        column = op.Reshape(sample_weight, op.Constant(value_ints=[-1, 1]))
        shape = op.Concat(
            op.Reshape(count, op.Constant(value_ints=[1])),
            op.Reshape(op.Div(pairs, count), op.Constant(value_ints=[1])),
            axis=0,
        )
        return op.Reshape(op.Expand(column, shape), op.Constant(value_ints=[-1]))

    return weight_per_pair
