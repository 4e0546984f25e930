"""Rules beyond kernel lookup.

These cover kernels that throw or compute wrong values at run time, and
the TensorRT parser's restrictions. Each rule returns a list of
`(severity, reason)` issues for one node.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import onnx
from onnx import numpy_helper
from onnx.defs import OpSchema

from onnxiou.providers import _kernels
from onnxiou.providers._graph import Scope
from onnxiou.providers._types import Binding

Issue = tuple[str, str]

_FLOAT16 = "tensor(float16)"
_BFLOAT16 = "tensor(bfloat16)"
_FLOATS = frozenset({"tensor(float)", "tensor(double)", _FLOAT16})
_ALL_REDUCTIONS = frozenset({"add", "mul", "max", "min"})

# Reductions whose CPU kernel raises at Run() although the type is
# registered. Measured with onnxruntime 1.32.0 at opsets 16 and 18.
# NOTE: a later onnxruntime release may implement these.
_CPU_SCATTER_RAISES = {
    ("ScatterElements", _FLOAT16): frozenset({"add", "mul"}),
    ("ScatterElements", _BFLOAT16): _ALL_REDUCTIONS,
    ("ScatterND", _FLOAT16): _ALL_REDUCTIONS,
    ("ScatterND", _BFLOAT16): _ALL_REDUCTIONS,
}

# CUDA ScatterElements picks its compute type by element size (4 bytes:
# float, 8 bytes: double), so reductions on these do float arithmetic on
# integer bits. Source: `CUDAExecutionProvider_semantics` in ep_kernels.json.
_CUDA_SIZE_DISPATCH_WRONG = frozenset(
    {"tensor(int32)", "tensor(uint32)", "tensor(int64)", "tensor(uint64)"}
)

# TensorRT reads these inputs only when they are build-time constants.
_TRT_CONSTANT_INPUTS = {
    "OneHot": (1, "depth"),
    "ReduceSum": (1, "axes"),
    "ReduceMax": (1, "axes"),
    "Squeeze": (1, "axes"),
    "Unsqueeze": (1, "axes"),
}
_TRT_TOPK_MAX_K = 3840


@dataclass(frozen=True)
class NodeContext:
    """A node with its schema, its bound types and the values it can read.

    `opset` is the model's opset version for the node's domain.
    """

    node: onnx.NodeProto
    opset: int
    schema: OpSchema
    binding: Binding
    scope: Scope


def _attribute(node: onnx.NodeProto, name: str, default: object) -> object:
    for attribute in node.attribute:
        if attribute.name == name:
            value = onnx.helper.get_attribute_value(attribute)
            return value.decode() if isinstance(value, bytes) else value
    return default


def cpu_runtime_issues(context: NodeContext) -> list[Issue]:
    """Find CPU scatter reductions that raise at Run() for their data type."""
    node = context.node
    data_type = context.binding.resolve("T")
    reduction = _attribute(node, "reduction", "none")
    raising = _CPU_SCATTER_RAISES.get((node.op_type, data_type), frozenset())
    if reduction not in raising:
        return []
    reason = (
        f"the CPU kernel raises at Run() for reduction={reduction!r} on "
        f"{data_type} data (measured with onnxruntime 1.32.0)"
    )
    return [("fallback", reason)]


def cuda_runtime_issues(context: NodeContext) -> list[Issue]:
    """Find CUDA scatter reductions that throw or compute wrong values."""
    node = context.node
    data_type = context.binding.resolve("T")
    reduction = _attribute(node, "reduction", "none")
    if reduction == "none":
        return []
    if node.op_type == "ScatterElements":
        return _cuda_scatter_elements(reduction, data_type)
    if node.op_type == "ScatterND":
        return _cuda_scatter_nd(reduction, data_type)
    return []


def _cuda_scatter_elements(reduction: str, data_type: str | None) -> list[Issue]:
    if data_type in _CUDA_SIZE_DISPATCH_WRONG:
        reason = (
            f"reduction={reduction!r} on {data_type} data is silently wrong: "
            "the CUDA kernel picks its compute type by element size and "
            "does float arithmetic on the integer bits"
        )
        return [("fallback", reason)]
    if data_type not in _FLOATS:
        reason = (
            f"reduction={reduction!r} on {data_type} data is unverified: the "
            "CUDA kernel picks its compute type by element size"
        )
        return [("warning", reason)]
    return []


def _cuda_scatter_nd(reduction: str, data_type: str | None) -> list[Issue]:
    if reduction != "add":
        reason = (
            f"the CUDA kernel throws at run time for reduction={reduction!r}: "
            "it implements only 'none' and 'add'"
        )
        return [("fallback", reason)]
    if data_type not in ("tensor(float)", _FLOAT16):
        reason = (
            f"reduction='add' on {data_type} data is unverified on CUDA, "
            "because the one version of the kernel source that was read "
            "implements it for float and float16 only"
        )
        return [("warning", reason)]
    return []


def trt_type_issues(context: NodeContext, entry: dict) -> list[Issue]:
    """Check each variable type parameter against TensorRT's type list.

    A type parameter that the schema fixes to one type (Equal's bool
    output, Shape's int64 output) is not in the parser's table. DOUBLE is
    not listed but is cast to FLOAT, which `trt_double_issues` reports.
    """
    listed = _kernels.trt_types(entry)
    release = _kernels.trt_opset_range()[0]
    issues = []
    for constraint in context.schema.type_constraints:
        if len(constraint.allowed_type_strs) < 2:
            continue
        bound = context.binding.type_params.get(constraint.type_param_str)
        if bound in (None, "tensor(double)") or bound in listed:
            continue
        reason = (
            f"the {release} parser does not take "
            f"{constraint.type_param_str}={bound} "
            f"(listed: {', '.join(entry['types'])})"
        )
        issues.append(("fallback", reason))
    return issues


def trt_double_issues(context: NodeContext) -> list[Issue]:
    """Warn that TensorRT casts DOUBLE values to FLOAT."""
    names = [*context.node.input, *context.node.output]
    if "tensor(double)" not in {context.scope.types.get(n) for n in names}:
        return []
    reason = (
        "TensorRT casts DOUBLE to FLOAT (clamped to +-FLT_MAX), "
        "so double values change"
    )
    return [("warning", reason)]


def trt_note_issues(context: NodeContext) -> list[Issue]:
    """Apply the TensorRT parser's per-op restrictions."""
    rule = _TRT_NOTE_RULES.get(context.node.op_type)
    issues = _trt_constant_input(context)
    return issues + (rule(context) if rule else [])


def _trt_constant_input(context: NodeContext) -> list[Issue]:
    node = context.node
    index, label = _TRT_CONSTANT_INPUTS.get(node.op_type, (None, ""))
    if index is None or len(node.input) <= index or not node.input[index]:
        return []
    if node.input[index] in context.scope.constants:
        return []
    return [("fallback", f"TensorRT needs `{label}` as a build-time constant")]


def _trt_scatter_elements(context: NodeContext) -> list[Issue]:
    if _attribute(context.node, "reduction", "none") == "none":
        return []
    # The reduction runs in TensorRT's ScatterElements plugin, whose config
    # takes INT64 indices and FP32/FP16/INT32/INT64 data (ep_kernels.json).
    issues = []
    if context.binding.resolve("Tind") != "tensor(int64)":
        issues.append(("fallback", "the ScatterElements plugin needs int64 indices"))
    plugin_types = {"tensor(float)", _FLOAT16, "tensor(int32)", "tensor(int64)"}
    data_type = context.binding.resolve("T")
    if data_type not in plugin_types and data_type != "tensor(double)":
        reason = f"the ScatterElements plugin does not take {data_type} data"
        issues.append(("fallback", reason))
    return issues


def _trt_scatter_nd(context: NodeContext) -> list[Issue]:
    reduction = _attribute(context.node, "reduction", None)
    if reduction is None:
        return []
    if reduction != "none":
        reason = f"TensorRT's ScatterND supports no reduction, got {reduction!r}"
        return [("fallback", reason)]
    reason = (
        "TensorRT 10.1 and older reject a ScatterND that carries any "
        "`reduction` attribute, even 'none'. Omit the attribute."
    )
    return [("warning", reason)]


def _trt_topk(context: NodeContext) -> list[Issue]:
    issues = []
    if _attribute(context.node, "sorted", 1) != 1:
        issues.append(("fallback", "TensorRT's TopK needs sorted=1"))
    inputs = context.node.input
    k_tensor = context.scope.constants.get(inputs[1]) if len(inputs) > 1 else None
    if k_tensor is not None:
        k = int(numpy_helper.to_array(k_tensor).reshape(-1)[0])
        if k >= _TRT_TOPK_MAX_K:
            reason = f"TensorRT's TopK needs K < {_TRT_TOPK_MAX_K}, got {k}"
            issues.append(("fallback", reason))
    return issues


def _rank(info: onnx.ValueInfoProto) -> int | None:
    tensor_type = info.type.tensor_type
    if not info.type.HasField("tensor_type") or not tensor_type.HasField("shape"):
        return None
    return len(tensor_type.shape.dim)


def _trt_if(context: NodeContext) -> list[Issue]:
    branches = {a.name: a.g for a in context.node.attribute}
    then_outputs = branches["then_branch"].output
    else_outputs = branches["else_branch"].output
    for then_info, else_info in zip(then_outputs, else_outputs):
        then_rank, else_rank = _rank(then_info), _rank(else_info)
        if None not in (then_rank, else_rank) and then_rank != else_rank:
            reason = (
                f"TensorRT needs If branch outputs of equal rank: "
                f"{then_info.name!r} has {then_rank}, {else_info.name!r} {else_rank}"
            )
            return [("fallback", reason)]
    return []


def _trt_loop(context: NodeContext) -> list[Issue]:
    node = context.node
    body = next(a.g for a in node.attribute if a.name == "body")
    carried = len(node.input) - 2
    has_scan_outputs = len(body.output) > 1 + carried
    trip_count = node.input[0] if node.input else ""
    # NOTE: only the trip count is checked, but a loop that exits early
    # through its condition also has scan outputs of dynamic length.
    if has_scan_outputs and trip_count not in context.scope.constants:
        reason = "TensorRT needs a constant trip count for a Loop with scan outputs"
        return [("fallback", reason)]
    return []


def _trt_cast(context: NodeContext) -> list[Issue]:
    # TensorRT takes UINT8 only as a network input or output.
    node = context.node
    values = [node.input[0], node.output[0]]
    for name in values:
        internal = name not in context.scope.graph_io
        if internal and context.scope.types.get(name) == "tensor(uint8)":
            reason = f"TensorRT takes uint8 only as a model input or output: {name!r}"
            return [("fallback", reason)]
    return []


_TRT_NOTE_RULES: dict[str, Callable[[NodeContext], list[Issue]]] = {
    "ScatterElements": _trt_scatter_elements,
    "ScatterND": _trt_scatter_nd,
    "TopK": _trt_topk,
    "If": _trt_if,
    "Loop": _trt_loop,
    "Cast": _trt_cast,
}
