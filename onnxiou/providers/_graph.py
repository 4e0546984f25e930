"""Walk the nodes of a graph and its control-flow subgraphs, with their scope."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import onnx

from onnxiou.providers._types import type_string


@dataclass(frozen=True)
class Scope:
    """The values a node can read.

    `types` maps value names to ONNX type strings, outer graphs included.
    `constants` maps the names of initializers and Constant-node outputs
    to their tensor, or to None when the Constant has no `value` tensor.
    `graph_io` contains the names of the model's own inputs and outputs.
    """

    types: Mapping[str, str]
    constants: Mapping[str, onnx.TensorProto | None]
    graph_io: frozenset[str]


def _value_types(graph: onnx.GraphProto, outer: Mapping[str, str]) -> dict[str, str]:
    types = dict(outer)
    for initializer in graph.initializer:
        name = onnx.TensorProto.DataType.Name(initializer.data_type).lower()
        types[initializer.name] = f"tensor({name})"
    for info in (*graph.input, *graph.value_info, *graph.output):
        known = type_string(info.type)
        if known is not None:
            types[info.name] = known
    return types


def _constants(
    graph: onnx.GraphProto, outer: Mapping[str, onnx.TensorProto | None]
) -> dict[str, onnx.TensorProto | None]:
    # A subgraph input hides an outer constant of the same name.
    inputs = {info.name for info in graph.input}
    constants = {k: v for k, v in outer.items() if k not in inputs}
    constants.update((t.name, t) for t in graph.initializer)
    for node in graph.node:
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
            value = next((a.t for a in node.attribute if a.name == "value"), None)
            constants[node.output[0]] = value
    return constants


def _subgraphs(node: onnx.NodeProto) -> Iterator[onnx.GraphProto]:
    for attribute in node.attribute:
        if attribute.type == onnx.AttributeProto.GRAPH:
            yield attribute.g
        elif attribute.type == onnx.AttributeProto.GRAPHS:
            yield from attribute.graphs


def walk_nodes(
    graph: onnx.GraphProto, outer: Scope | None = None
) -> Iterator[tuple[onnx.NodeProto, Scope]]:
    """Yield every node of `graph` and of its subgraphs with its scope.

    Run strict shape inference first, so that `value_info` contains the type
    of every intermediate value, in subgraphs too.
    """
    if outer is None:
        names = [info.name for info in (*graph.input, *graph.output)]
        outer = Scope({}, {}, frozenset(names))
    scope = Scope(
        _value_types(graph, outer.types),
        _constants(graph, outer.constants),
        outer.graph_io,
    )
    for node in graph.node:
        yield node, scope
        for subgraph in _subgraphs(node):
            yield from walk_nodes(subgraph, scope)
