"""The declared inputs and outputs of each graph kind, with their docs.

This module is the contract a runtime in any language relies on: names,
element types, shapes and meaning of every input and output. The same text
is written into the model's ``doc_string`` fields.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
import onnx
import onnx.helper

from onnxiou._spec import MetricSpec

if TYPE_CHECKING:
    from onnxiou.graph.model import GraphOptions


@dataclasses.dataclass(frozen=True)
class Port:
    """One graph input or output: name, element type, shape and meaning."""

    name: str
    dtype: str
    shape: tuple[int | str, ...]
    doc: str

    def value_info(self) -> onnx.ValueInfoProto:
        elem_type = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(self.dtype))
        info = onnx.helper.make_tensor_value_info(self.name, elem_type, self.shape)
        info.doc_string = self.doc
        return info

    def describe(self) -> str:
        return f"{self.name}: {self.dtype} {list(self.shape)}. {self.doc}"


def label_dims(name: str, rank: int, class_axis: int | None) -> tuple[str, ...]:
    """Symbolic dims of a label input; the class axis of dense input is named."""
    dims = [f"{name}_{index}" for index in range(rank)]
    if class_axis is not None and -rank <= class_axis < rank:
        dims[class_axis] = "classes"
    return tuple(dims)


def input_ports(spec: MetricSpec, options: GraphOptions) -> list[Port]:
    """Inputs of the update and step graphs."""
    state = spec.state_dtype
    true_axis = None if spec.sparse_y_true else spec.axis
    pred_dense = not spec.sparse_y_pred and spec.threshold is None
    pred_axis = spec.axis if pred_dense else None
    true_doc = (
        "Class ids." if spec.sparse_y_true
        else f"One-hot or scores; the class is the argmax over axis {spec.axis}."
    )
    if spec.threshold is not None:
        pred_doc = f"Scores; class 1 where float32(y_pred) >= {spec.threshold!r}."
    elif spec.sparse_y_pred:
        pred_doc = "Class ids."
    else:
        pred_doc = f"Logits or probabilities; argmax over axis {spec.axis}."
    return [
        Port(
            "y_true",
            options.y_true_dtype,
            label_dims("y_true", options.y_true_rank, true_axis),
            "Ground truth. " + true_doc,
        ),
        Port(
            "y_pred",
            options.y_pred_dtype,
            label_dims("y_pred", options.y_pred_rank, pred_axis),
            "Prediction. " + pred_doc,
        ),
        Port(
            "sample_weight",
            state,
            ("weight_count",),
            "1-D weights: length 1 weighs every pair ([1] for no weighting), "
            "length B (the first label dim) weighs whole samples, length N "
            "(all label pairs, C order) weighs each pair.",
        ),
        state_port("total_cm", spec, "Confusion matrix so far (zeros at start)."),
    ]


def state_port(name: str, spec: MetricSpec, doc: str) -> Port:
    classes = spec.num_classes
    return Port(
        name,
        spec.state_dtype,
        (classes, classes),
        doc + " Rows are true classes, columns predicted classes.",
    )


def update_outputs(spec: MetricSpec) -> list[Port]:
    state = spec.state_dtype
    return [
        state_port("total_cm_out", spec, "total_cm plus this batch."),
        Port(
            "dropped_weight",
            state,
            (),
            "Summed weight of this batch's pairs with a label outside "
            "[0, num_classes) or not finite, ignored classes excepted (the "
            "number of such pairs when the weight is 1).",
        ),
        Port(
            "ignored_weight",
            state,
            (),
            "Summed weight of this batch's pairs whose y_true is an ignored "
            "class (their number when the weight is 1).",
        ),
    ]


def result_outputs(spec: MetricSpec) -> list[Port]:
    return [
        Port(
            "result",
            "float32",
            (),
            "Mean IoU over the target classes "
            f"{list(spec.target_class_ids)} whose TP + FP + FN is not 0; "
            "0.0 when none is.",
        ),
        Port(
            "per_class_iou",
            "float32",
            (spec.num_classes,),
            "TP / (TP + FP + FN) per class; NaN where that denominator is 0.",
        ),
    ]


def ports(
    spec: MetricSpec, kind: str, options: GraphOptions
) -> tuple[list[Port], list[Port]]:
    """Return (inputs, outputs) of graph ``kind`` in declaration order."""
    if kind == "result":
        return [state_port("total_cm", spec, "Confusion matrix.")], result_outputs(spec)
    inputs = input_ports(spec, options)
    updates = update_outputs(spec)
    if kind == "update":
        return inputs, updates
    return inputs, [updates[0], *result_outputs(spec), *updates[1:]]


def declare(model: onnx.ModelProto, inputs: list[Port], outputs: list[Port]) -> None:
    """Replace the graph's input and output declarations with ``inputs``/``outputs``."""
    graph = model.graph
    actual = [value.name for value in graph.input], [value.name for value in graph.output]
    expected = [port.name for port in inputs], [port.name for port in outputs]
    if actual != expected:
        raise RuntimeError(
            f"graph ports {actual} do not match the contract {expected}"
        )
    del graph.input[:]
    graph.input.extend(port.value_info() for port in inputs)
    del graph.output[:]
    graph.output.extend(port.value_info() for port in outputs)
