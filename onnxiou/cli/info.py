"""``onnxiou info``: print the contract stored in a graph that onnxiou wrote.

Everything printed comes from the file (its metadata, opset imports and
input and output declarations), not from the installed onnxiou.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

import onnx
from google.protobuf.message import DecodeError

from onnxiou.cli import SUBCOMMANDS, print_error

# Prefix of the metadata keys that onnxiou.export writes.
_METADATA_PREFIX = "onnxiou."


def add_parser(subparsers: Any) -> None:
    """Add the ``info`` subcommand to ``subparsers``."""
    parser = subparsers.add_parser(
        "info",
        help=SUBCOMMANDS["info"].summary,
        description=(
            "Print the metric, configuration, state, opset and the inputs and "
            "outputs (dtype, shape, meaning) of an .onnx file written by onnxiou."
        ),
    )
    parser.add_argument("file", metavar="FILE", help="an .onnx file")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def load_model(path: str | os.PathLike) -> onnx.ModelProto:
    """Load ``path`` without external data.

    Raises ValueError, with the path in the message, when the file is
    missing, unreadable or not an ONNX model.
    """
    try:
        return onnx.load(os.fspath(path), load_external_data=False)
    except FileNotFoundError:
        raise ValueError(f"{path}: file not found.") from None
    except IsADirectoryError:
        raise ValueError(f"{path}: is a directory, expected an .onnx file.") from None
    except OSError as error:
        raise ValueError(
            f"{path}: failed to read the file: {error.strerror}."
        ) from None
    except DecodeError:
        raise ValueError(f"{path}: not an ONNX model (invalid protobuf).") from None


def _dtype_name(elem_type: int) -> str:
    try:
        return onnx.helper.tensor_dtype_to_np_dtype(elem_type).name
    except (KeyError, ValueError, TypeError):
        return onnx.TensorProto.DataType.Name(elem_type).lower()


def describe_value(value: onnx.ValueInfoProto) -> dict[str, Any]:
    """Return the name, dtype, symbolic shape and doc string of one input or output."""
    if not value.type.HasField("tensor_type"):
        return {
            "name": value.name,
            "dtype": None,
            "shape": None,
            "doc": value.doc_string,
        }
    tensor = value.type.tensor_type
    shape = None
    if tensor.HasField("shape"):
        shape = [dim.dim_param or dim.dim_value for dim in tensor.shape.dim]
    return {
        "name": value.name,
        "dtype": _dtype_name(tensor.elem_type),
        "shape": shape,
        "doc": value.doc_string,
    }


def _json_value(props: dict[str, str], key: str) -> Any:
    if key not in props:
        return None
    try:
        return json.loads(props[key])
    except json.JSONDecodeError as error:
        raise ValueError(f"Metadata {key} is not valid JSON: {error}.") from None


def read_metadata(model: onnx.ModelProto) -> dict[str, str]:
    """Return the ``onnxiou.*`` metadata of ``model``.

    ``onnxiou.export.read_metadata`` does the same, but importing
    ``onnxiou.export`` takes seconds because it imports onnxscript.
    Raises ValueError for a model onnxiou did not write.
    """
    props = {
        prop.key: prop.value
        for prop in model.metadata_props
        if prop.key.startswith(_METADATA_PREFIX)
    }
    if "onnxiou.config" not in props or "onnxiou.metric" not in props:
        raise ValueError(
            "Expected a model exported by onnxiou (metadata keys onnxiou.metric "
            "and onnxiou.config), but this model has none."
        )
    return props


def describe(model: onnx.ModelProto) -> dict[str, Any]:
    """Return the contract of a model written by onnxiou as a JSON-ready dict.

    Raises ValueError for a model without onnxiou's metadata.
    """
    props = read_metadata(model)
    opsets = {entry.domain: entry.version for entry in model.opset_import}
    num_classes = props.get("onnxiou.num_classes")
    return {
        "metric": props["onnxiou.metric"],
        "graph": props.get("onnxiou.graph"),
        "onnxiou_version": props.get("onnxiou.version"),
        "opset": opsets.get("", opsets.get("ai.onnx")),
        "state_dtype": props.get("onnxiou.state_dtype"),
        "state_shape": _json_value(props, "onnxiou.state_shape"),
        "num_classes": int(num_classes) if num_classes is not None else None,
        "kernel": props.get("onnxiou.kernel"),
        "config": _json_value(props, "onnxiou.config"),
        "inputs": [describe_value(value) for value in model.graph.input],
        "outputs": [describe_value(value) for value in model.graph.output],
        "metadata": dict(sorted(props.items())),
    }


# Metadata keys that format_text prints on lines of their own.
_SHOWN_KEYS = {
    "onnxiou.metric",
    "onnxiou.graph",
    "onnxiou.version",
    "onnxiou.state_dtype",
    "onnxiou.state_shape",
    "onnxiou.num_classes",
    "onnxiou.kernel",
    "onnxiou.config",
}


def _format_ports(title: str, ports: list[dict[str, Any]]) -> list[str]:
    lines = [f"{title}:"]
    for port in ports:
        shape = (
            "?" if port["shape"] is None else f"[{', '.join(map(str, port['shape']))}]"
        )
        lines.append(f"  {port['name']}: {port['dtype']} {shape}")
        if port["doc"]:
            lines.append(f"      {port['doc']}")
    return lines


def format_text(path: str, summary: dict[str, Any]) -> str:
    """Render ``describe``'s output for a terminal."""
    lines = [
        f"{path}: {summary['graph']} graph of {summary['metric']}",
        f"onnxiou version: {summary['onnxiou_version']}",
        f"opset: {summary['opset']}",
        f"state: total_cm {summary['state_dtype']} {summary['state_shape']}",
        f"num_classes: {summary['num_classes']}",
        f"kernel: {summary['kernel']}",
        f"config: {json.dumps(summary['config'], sort_keys=True)}",
        *(
            f"{key.removeprefix('onnxiou.')}: {value}"
            for key, value in summary["metadata"].items()
            if key not in _SHOWN_KEYS
        ),
        *_format_ports("inputs", summary["inputs"]),
        *_format_ports("outputs", summary["outputs"]),
    ]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Print the contract of ``args.file``, or a one-line error and return 2."""
    try:
        summary = describe(load_model(args.file))
    except ValueError as error:
        message = str(error)
        if not message.startswith(str(args.file)):
            message = f"{args.file}: {message}"
        return print_error(message)
    if args.json:
        print(json.dumps({"file": str(args.file), **summary}, indent=2, sort_keys=True))
    else:
        print(format_text(args.file, summary))
    return 0
