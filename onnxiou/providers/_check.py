"""Check every node of a model against one execution provider's kernels."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import onnx
import onnx.inliner
from onnx.defs import OpSchema

from onnxiou.providers._graph import Scope, walk_nodes
from onnxiou.providers._lookup import PROVIDER_CHECKS
from onnxiou.providers._rules import NodeContext
from onnxiou.providers._types import bind_types

logger = logging.getLogger(__name__)

PROVIDERS = (
    "CPUExecutionProvider",
    "CUDAExecutionProvider",
    "TensorrtExecutionProvider",
)

Severity = Literal["fallback", "warning"]


@dataclass(frozen=True)
class Finding:
    """One problem of one node on one execution provider.

    `severity` is "fallback" when the node cannot stay as it is on this
    provider: it has no kernel (onnxruntime places it on the next provider,
    or fails to create a CPU session), or its kernel throws or computes
    wrong values at run time. It is "warning" when the node runs but with
    a caveat: values change, onnxruntime rewrites the node, or the recorded
    facts do not cover it. `node_name` is the node's name, or its first
    output in angle brackets when the node has no name. `bound_types`
    pairs each type parameter with the type bound to it.
    """

    node_name: str
    op_type: str
    provider: str
    reason: str
    severity: Severity
    since_version: int | None = None
    bound_types: tuple[tuple[str, str], ...] = ()


def _prepare(model: onnx.ModelProto) -> onnx.ModelProto:
    # onnxruntime inlines model-local functions, so their nodes are checked.
    if model.functions:
        model = onnx.inliner.inline_local_functions(model)
    try:
        return onnx.shape_inference.infer_shapes(
            model, check_type=True, strict_mode=True
        )
    except onnx.shape_inference.InferenceError as error:
        message = f"model failed strict ONNX shape inference: {error}"
        raise ValueError(message) from error


def _opsets(model: onnx.ModelProto) -> dict[str, int]:
    return {_domain(o.domain): o.version for o in model.opset_import}


def _domain(domain: str) -> str:
    return "" if domain == "ai.onnx" else domain


def _schema(node: onnx.NodeProto, opsets: Mapping[str, int]) -> OpSchema | None:
    domain = _domain(node.domain)
    if domain not in opsets:
        raise ValueError(
            f"model has no opset import for domain {domain!r}, "
            f"used by node {node.name!r} ({node.op_type})"
        )
    try:
        return onnx.defs.get_schema(node.op_type, opsets[domain], domain)
    except onnx.defs.SchemaError:
        return None


def _node_name(node: onnx.NodeProto) -> str:
    if node.name or not node.output:
        return node.name
    return f"<{node.output[0]}>"


def _node_findings(
    node: onnx.NodeProto, context: NodeContext | None, provider: str
) -> list[Finding]:
    if context is None:
        reason = "no ONNX schema for this op at the model's opset, so it is not checked"
        return [Finding(_node_name(node), node.op_type, provider, reason, "warning")]
    since_version = context.schema.since_version
    bound_types = tuple(sorted(context.binding.type_params.items()))
    if context.binding.unknown:
        names = ", ".join(repr(name) for name in context.binding.unknown)
        reason = f"no inferred type for {names}, so the node is not checked"
        issues = [("warning", reason)]
    else:
        issues = PROVIDER_CHECKS[provider](context)
    return [
        Finding(
            _node_name(node),
            node.op_type,
            provider,
            reason,
            severity,
            since_version,
            bound_types,
        )
        for severity, reason in issues
    ]


def _validate(model: object, provider: object) -> None:
    if not isinstance(model, onnx.ModelProto):
        raise TypeError(
            f"model must be an onnx.ModelProto, got {type(model).__name__}"
        )
    if provider is not None and not isinstance(provider, str):
        raise TypeError(
            f"provider must be a str or None, got {type(provider).__name__}"
        )
    if provider is not None and provider not in PROVIDERS:
        raise ValueError(
            f"provider must be one of {', '.join(PROVIDERS)} or None, "
            f"got {provider!r}"
        )


def _context(
    node: onnx.NodeProto, scope: Scope, opsets: Mapping[str, int]
) -> NodeContext | None:
    schema = _schema(node, opsets)
    if schema is None:
        return None
    binding = bind_types(node, schema, scope.types)
    return NodeContext(node, opsets[_domain(node.domain)], schema, binding, scope)


def check_model(
    model: onnx.ModelProto, provider: str | None = None
) -> list[Finding]:
    """Check each node of `model`, subgraphs included, against a provider.

    Runs strict ONNX shape inference, resolves each node's schema at the
    model's opset, binds its type parameters and looks up a kernel under
    onnxruntime's version rule, then applies the known run-time traps.
    Constant nodes are skipped because onnxruntime folds them into
    initializers when it loads the model.

    Args:
        model: the model to check. It is not modified.
        provider: one of `PROVIDERS`, or None to check all three.

    Returns:
        The findings in node order, providers in the order checked.

    Raises:
        TypeError: `model` is not a ModelProto or `provider` not a str.
        ValueError: `provider` is unknown, the model fails strict shape
            inference, or a node's domain has no opset import.
    """
    _validate(model, provider)
    providers = PROVIDERS if provider is None else (provider,)
    inferred = _prepare(model)
    opsets = _opsets(inferred)
    findings: list[Finding] = []
    for node, scope in walk_nodes(inferred.graph):
        if node.op_type == "Constant" and _domain(node.domain) == "":
            continue
        context = _context(node, scope, opsets)
        for name in providers:
            findings += _node_findings(node, context, name)
    return findings


def _describe(finding: Finding) -> str:
    types = ", ".join(f"{name}={bound}" for name, bound in finding.bound_types)
    return (
        f"  {finding.provider}: node {finding.node_name!r} "
        f"{finding.op_type}({finding.since_version}) [{types}]: {finding.reason}"
    )


def assert_no_fallback(
    model: onnx.ModelProto, provider: str | None = None
) -> None:
    """Raise ValueError if any node of `model` falls back on `provider`.

    Takes the same arguments as `check_model`. The message lists each
    offending node with its op, schema version, bound types and reason.
    Warnings do not raise; each is logged at WARNING level.
    """
    findings = check_model(model, provider)
    for finding in findings:
        if finding.severity == "warning":
            logger.warning(
                "%s: node %r (%s): %s",
                finding.provider,
                finding.node_name,
                finding.op_type,
                finding.reason,
            )
    failures = [f for f in findings if f.severity == "fallback"]
    if failures:
        lines = "\n".join(_describe(f) for f in failures)
        where = provider or ", ".join(PROVIDERS)
        raise ValueError(
            f"{len(failures)} fallback finding(s) on {where}:\n{lines}"
        )
