"""Look up each provider's kernel for a node and apply its other rules.

Each check returns `(severity, reason)` issues for one node.
"""

from __future__ import annotations

from collections.abc import Callable

from onnxiou.providers import _kernels, _rules
from onnxiou.providers._rules import Issue, NodeContext


def _describe_ranges(kernels: tuple[_kernels.Kernel, ...]) -> str:
    ranges = sorted({(k.since, k.describe_range()) for k in kernels})
    return ", ".join(text for _, text in ranges) or "none"


def _short(type_string: str) -> str:
    inner = type_string.removeprefix("tensor(").removesuffix(")")
    return inner if inner.isidentifier() else type_string


def _type_mismatch(serving: list[_kernels.Kernel], context: NodeContext) -> str:
    allowed: dict[str, set[str]] = {}
    for kernel in serving:
        for name, types in kernel.constraints.items():
            allowed.setdefault(name, set()).update(types)
    parts = []
    for name, types in sorted(allowed.items()):
        bound = context.binding.resolve(name)
        if bound is not None and bound not in types:
            listed = ", ".join(sorted(map(_short, types)))
            parts.append(f"{name}={bound} (takes {listed})")
    # Kernels registered per type combination, such as OneHot's triples,
    # can reject a combination whose every type is listed somewhere.
    return " and ".join(parts) or "this combination of types"


def _kernel_issues(
    kernels: tuple[_kernels.Kernel, ...], context: NodeContext, consequence: str
) -> list[Issue]:
    op = f"{context.node.op_type}({context.schema.since_version})"
    serving = [k for k in kernels if k.serves(context.schema.since_version)]
    if any(k.accepts(context.binding.resolve) for k in serving):
        return []
    if serving:
        reason = f"no {op} kernel accepts {_type_mismatch(serving, context)}"
    else:
        reason = f"no kernel serves {op} (kernels: {_describe_ranges(kernels)})"
    return [("fallback", f"{reason}, so {consequence}")]


def _runs_in_float32(
    kernels: tuple[_kernels.Kernel, ...], context: NodeContext
) -> bool:
    # onnxruntime runs a float16 node that has no float16 CPU kernel in
    # float32 between inserted Casts (seen with 1.32.0 on Add and Where).
    def widen(name: str) -> str | None:
        bound = context.binding.resolve(name)
        return "tensor(float)" if bound == "tensor(float16)" else bound

    since_version = context.schema.since_version
    return any(k.serves(since_version) and k.accepts(widen) for k in kernels)


def _cpu_issues(context: NodeContext) -> list[Issue]:
    schema = context.schema
    kernels = _kernels.cpu_kernels(schema.domain, context.node.op_type)
    consequence = "creating the session fails with NOT_IMPLEMENTED"
    issues = _kernel_issues(kernels, context, consequence)
    if not issues:
        return _rules.cpu_runtime_issues(context)
    if _runs_in_float32(kernels, context):
        reason = "no float16 kernel: onnxruntime casts to float32 and back"
        return [("warning", reason)]
    if schema.has_function or schema.has_context_dependent_function:
        reason = "no kernel: onnxruntime expands the op's ONNX function body"
        return [("warning", reason)]
    return issues


def _not_covered(provider: str) -> list[Issue]:
    return [("warning", f"the recorded {provider} facts do not cover this op")]


def _cuda_issues(context: NodeContext) -> list[Issue]:
    provider = "CUDAExecutionProvider"
    kernels = None
    if context.schema.domain == "":
        kernels = _kernels.fact_kernels(provider, context.node.op_type)
    if kernels is None:
        return _not_covered(provider)
    consequence = "onnxruntime runs the node on CPU, with copies between devices"
    issues = _kernel_issues(kernels, context, consequence)
    return issues or _rules.cuda_runtime_issues(context)


def _trt_issues(context: NodeContext) -> list[Issue]:
    release, low, high = _kernels.trt_opset_range()
    entry = None
    if context.schema.domain == "":
        entry = _kernels.trt_entry(context.node.op_type)
    if entry is None:
        return _not_covered("TensorrtExecutionProvider")
    double = _rules.trt_double_issues(context)
    if not entry["supported"]:
        return [("fallback", f"the {release} parser does not support this op")]
    opset = context.opset
    if not low <= opset <= high:
        reason = (
            f"the {release} parser reads ONNX opsets {low}-{high}, "
            f"model has {opset}"
        )
        return [("fallback", reason)] + double
    issues = _rules.trt_type_issues(context, entry) + _rules.trt_note_issues(context)
    return issues + double


PROVIDER_CHECKS: dict[str, Callable[[NodeContext], list[Issue]]] = {
    "CPUExecutionProvider": _cpu_issues,
    "CUDAExecutionProvider": _cuda_issues,
    "TensorrtExecutionProvider": _trt_issues,
}
