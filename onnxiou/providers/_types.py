"""Bind the type parameters of an ONNX schema to a node's inferred types.

Types are ONNX type strings, as in `OpSchema.TypeConstraintParam`:
`tensor(float)`, `seq(tensor(int64))`, `optional(tensor(bool))`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import onnx
from onnx.defs import OpSchema


def type_string(type_proto: onnx.TypeProto) -> str | None:
    """Return the ONNX type string of `type_proto`, or None if it is unknown."""
    kind = type_proto.WhichOneof("value")
    if kind in ("tensor_type", "sparse_tensor_type"):
        elem_type = getattr(type_proto, kind).elem_type
        if elem_type == onnx.TensorProto.UNDEFINED:
            return None
        name = onnx.TensorProto.DataType.Name(elem_type).lower()
        prefix = "tensor" if kind == "tensor_type" else "sparse_tensor"
        return f"{prefix}({name})"
    if kind == "sequence_type":
        inner = type_string(type_proto.sequence_type.elem_type)
        return None if inner is None else f"seq({inner})"
    if kind == "optional_type":
        inner = type_string(type_proto.optional_type.elem_type)
        return None if inner is None else f"optional({inner})"
    return None


@dataclass(frozen=True)
class Binding:
    """The types a node's formal parameters take.

    `params` maps each present formal parameter name to its type.
    `type_params` maps each type parameter (such as `T`) to the type of
    its first present argument, inputs before outputs. A variadic
    parameter binds the type of its first argument, the one onnxruntime
    checks. `unknown` lists the node's values that have no inferred type.
    """

    params: Mapping[str, str]
    type_params: Mapping[str, str]
    unknown: tuple[str, ...]

    def resolve(self, name: str) -> str | None:
        """Return the type bound to a type parameter or formal parameter name.

        onnxruntime names a kernel's type constraint either way, for
        example `T` or Reshape's `shape` input.
        """
        return self.type_params.get(name, self.params.get(name))


def _arguments(
    formal: list[OpSchema.FormalParameter], actual: list[str]
) -> list[tuple[OpSchema.FormalParameter, list[str]]]:
    """Pair each formal parameter with the node's value names for it."""
    pairs = []
    for index, param in enumerate(formal):
        if param.option == OpSchema.FormalParameterOption.Variadic:
            names = list(actual[index:])
        else:
            names = actual[index : index + 1]
        pairs.append((param, [name for name in names if name]))
    return pairs


def bind_types(
    node: onnx.NodeProto, schema: OpSchema, types: Mapping[str, str]
) -> Binding:
    """Bind the formal and type parameters of `schema` for `node`."""
    type_param_names = {c.type_param_str for c in schema.type_constraints}
    params: dict[str, str] = {}
    type_params: dict[str, str] = {}
    unknown: list[str] = []
    pairs = _arguments(schema.inputs, list(node.input))
    pairs += _arguments(schema.outputs, list(node.output))
    for param, names in pairs:
        unknown += [name for name in names if name not in types]
        known = [types[name] for name in names if name in types]
        if not known:
            continue
        params.setdefault(param.name, known[0])
        if param.type_str in type_param_names:
            type_params.setdefault(param.type_str, known[0])
    return Binding(params, type_params, tuple(unknown))
