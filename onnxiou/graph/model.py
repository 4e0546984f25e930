"""Compose the stages into the update, result and step models."""

from __future__ import annotations

import dataclasses

import numpy as np
import onnx
import onnx.inliner
import onnxscript
from onnxscript import script
from onnxscript.values import OnnxFunction, Opset

from onnxiou import profiles
from onnxiou._spec import MetricSpec
from onnxiou.graph import accumulate, contract, decode, mask, portable, reduce
from onnxiou.graph.layout import SCATTER_WINDOW, BinLayout, make_layout

GRAPH_KINDS = ("update", "result", "step")
MIN_OPSET = 16
MAX_OPSET = 21
DEFAULT_OPSET = 18


@dataclasses.dataclass(frozen=True)
class GraphOptions:
    """Export-time choices that are not part of the metric's configuration."""

    y_true_dtype: str
    y_pred_dtype: str
    kernel: str = "scatter"
    opset: int = DEFAULT_OPSET
    y_true_rank: int = 3
    y_pred_rank: int = 3
    provider: str = profiles.DEFAULT_PROFILE
    """The provider profile: "cpu", "cuda" or "tensorrt" (see onnxiou.profiles)."""


def opset_module(version: int) -> Opset:
    if not MIN_OPSET <= version <= MAX_OPSET:
        raise ValueError(
            f"Expected argument `opset` to be in [{MIN_OPSET}, {MAX_OPSET}], "
            f"but got {version!r}."
        )
    return getattr(onnxscript, f"opset{version}")


def _input_kind(dtype: str) -> str:
    kind = np.dtype(dtype).kind
    if kind == "f":
        return "float"
    return "int64" if dtype == "int64" else "int"


def _decoder(op: Opset, spec: MetricSpec, dtype: str, sparse: bool) -> OnnxFunction:
    kind = _input_kind(dtype)
    if sparse:
        return decode.sparse_labels(op, kind)
    return decode.argmax_labels(op, spec.axis, kind == "float", nan_check=True)


def _decoded_dtypes(spec: MetricSpec, options: GraphOptions) -> tuple[str, str]:
    """Return the dtypes of the CPU decoders' labels, for the mask stage."""
    pred_sparse = spec.sparse_y_pred and spec.threshold is None
    true_kind = _input_kind(options.y_true_dtype)
    pred_kind = _input_kind(options.y_pred_dtype)
    return (
        decode.label_dtype(true_kind, spec.sparse_y_true),
        decode.label_dtype(pred_kind, pred_sparse),
    )


def _pred_decoder(op: Opset, spec: MetricSpec, dtype: str) -> OnnxFunction:
    if spec.threshold is not None:
        return decode.threshold_labels(op, spec.threshold)
    return _decoder(op, spec, dtype, spec.sparse_y_pred)


def _portable_decoder(
    op: Opset, spec: MetricSpec, dtype: str, sparse: bool
) -> OnnxFunction:
    if sparse:
        return portable.sparse_labels(op, dtype)
    return decode.argmax_labels(op, spec.axis, _input_kind(dtype) == "float")


def _portable_pred_decoder(op: Opset, spec: MetricSpec, dtype: str) -> OnnxFunction:
    if spec.threshold is not None:
        return decode.threshold_labels(op, spec.threshold)
    return _portable_decoder(op, spec, dtype, spec.sparse_y_pred)


def _cpu_stages(spec: MetricSpec, options: GraphOptions, op: Opset, layout: BinLayout):
    dtypes = _decoded_dtypes(spec, options)
    index_dtype = mask.index_dtype(layout, *dtypes)
    return (
        _decoder(op, spec, options.y_true_dtype, spec.sparse_y_true),
        _pred_decoder(op, spec, options.y_pred_dtype),
        decode.spread_weight(op),
        mask.cell_coordinates(op, layout, *dtypes),
        accumulate.kernel_function(
            options.kernel, op, layout, index_dtype, spec.state_dtype
        ),
        reduce.split_buffer(op, layout, spec.state_dtype),
    )


def _portable_stages(
    spec: MetricSpec, options: GraphOptions, op: Opset, layout: BinLayout
):
    state = spec.state_dtype
    compute = profiles.accumulate_dtype(options.provider, state)
    return (
        _portable_decoder(op, spec, options.y_true_dtype, spec.sparse_y_true),
        _portable_pred_decoder(op, spec, options.y_pred_dtype),
        portable.spread_weight(op),
        portable.cell_coordinates(op, layout),
        portable.kernel_function(options.kernel, op, layout, compute, state),
        portable.split_buffer(op, layout, state),
    )


def _update_stages(spec: MetricSpec, options: GraphOptions):
    op = opset_module(options.opset)
    window = SCATTER_WINDOW if options.kernel == "scatter" else 0
    layout = make_layout(spec, window)
    if profiles.get_profile(options.provider).portable:
        return (op, *_portable_stages(spec, options, op, layout))
    return (op, *_cpu_stages(spec, options, op, layout))


def update_function(spec: MetricSpec, options: GraphOptions) -> OnnxFunction:
    """Return the update graph as an onnxscript function (stages as calls)."""
    op, decode_true, decode_pred, weigh, cells, count, split = _update_stages(
        spec, options
    )

    @script(default_opset=op)
    def update(y_true, y_pred, sample_weight, total_cm):
        true_labels = decode_true(y_true)
        pred_labels = decode_pred(y_pred)
        weight = weigh(sample_weight, pred_labels)
        flat = op.Constant(value_ints=[-1])
        rows, cols = cells(op.Reshape(true_labels, flat), op.Reshape(pred_labels, flat))
        batch_cm, ignored_weight, dropped_weight = split(count(rows, cols, weight))
        total_cm_out = op.Add(total_cm, batch_cm)
        return total_cm_out, dropped_weight, ignored_weight

    return update


def result_function(spec: MetricSpec, options: GraphOptions) -> OnnxFunction:
    op = opset_module(options.opset)
    scores = reduce.iou_scores(op, spec.num_classes, list(spec.target_class_ids))

    @script(default_opset=op)
    def result_graph(total_cm):
        result, per_class_iou = scores(total_cm)
        return result, per_class_iou

    return result_graph


def step_function(spec: MetricSpec, options: GraphOptions) -> OnnxFunction:
    op, decode_true, decode_pred, weigh, cells, count, split = _update_stages(
        spec, options
    )
    scores = reduce.iou_scores(op, spec.num_classes, list(spec.target_class_ids))

    @script(default_opset=op)
    def step(y_true, y_pred, sample_weight, total_cm):
        true_labels = decode_true(y_true)
        pred_labels = decode_pred(y_pred)
        weight = weigh(sample_weight, pred_labels)
        flat = op.Constant(value_ints=[-1])
        rows, cols = cells(op.Reshape(true_labels, flat), op.Reshape(pred_labels, flat))
        batch_cm, ignored_weight, dropped_weight = split(count(rows, cols, weight))
        total_cm_out = op.Add(total_cm, batch_cm)
        result, per_class_iou = scores(total_cm_out)
        return total_cm_out, result, per_class_iou, dropped_weight, ignored_weight

    return step


# The stage each call of a graph's script runs, in the order of the calls.
_UPDATE_STAGES = [
    "decode_y_true",
    "decode_y_pred",
    "decode_weight",
    "mask",
    "accumulate",
    "reduce_buffer",
]
STAGES = {
    "update": _UPDATE_STAGES,
    "result": ["reduce_iou"],
    "step": _UPDATE_STAGES + ["reduce_iou"],
}

_BUILDERS = {"update": update_function, "result": result_function, "step": step_function}


def build_graph(spec: MetricSpec, kind: str, options: GraphOptions) -> onnx.ModelProto:
    """Build one graph kind as an inlined ModelProto without IO declarations."""
    if kind not in _BUILDERS:
        raise ValueError(
            f"Expected argument `kind` to be one of {list(GRAPH_KINDS)}, "
            f"but got {kind!r}."
        )
    profiles.get_profile(options.provider)
    function = _BUILDERS[kind](spec, options)
    model = onnx.inliner.inline_local_functions(function.to_model_proto())
    _name_nodes(model.graph, STAGES[kind])
    inputs, outputs = contract.ports(spec, kind, options)
    contract.declare(model, inputs, outputs)
    kept = [entry for entry in model.opset_import if entry.domain == ""]
    del model.opset_import[:]
    model.opset_import.extend(kept)
    # The lowest IR version for the opset lets older onnxruntime releases
    # load the model: onnxruntime 1.16 reads IR versions up to 9 only.
    model.ir_version = onnx.helper.find_min_ir_version_for(kept)
    return model


def _name_nodes(graph: onnx.GraphProto, stages: list[str]) -> None:
    """Name each node ``stage/OpType_index`` so viewers show the stages.

    The inliner suffixes the nodes of the k-th inlined call with ``__k``
    (k from 1, in call order); nodes of the top-level graph have none.
    """
    for index, node in enumerate(graph.node):
        _, separator, call = node.name.rpartition("__")
        stage = stages[int(call) - 1] if separator and call.isdigit() else "graph"
        node.name = f"{stage}/{node.op_type}_{index}"
