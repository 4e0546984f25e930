"""``onnxiou export``: write the update, result and step graphs of one metric."""

from __future__ import annotations

import argparse
import inspect
from typing import Any

from onnxiou._spec import KERNELS, STATE_DTYPES
from onnxiou.cli import SUBCOMMANDS
from onnxiou.export import export
from onnxiou.graph.model import DEFAULT_OPSET, MAX_OPSET, MIN_OPSET
from onnxiou.metrics import METRICS, _IoUBase
from onnxiou.profiles import DEFAULT_PROFILE, PROFILES

# Constructor parameter -> the flag that sets it.
METRIC_FLAGS = {
    "num_classes": "--num-classes",
    "target_class_ids": "--target-class-ids",
    "ignore_class": "--ignore-class",
    "threshold": "--threshold",
    "sparse_y_true": "--dense-y-true",
    "sparse_y_pred": "--dense-y-pred/--sparse-y-pred",
    "axis": "--axis",
    "state_dtype": "--state-dtype",
    "kernel": "--kernel",
}

# Library argument -> flag, for the names in library error messages.
ARGUMENT_FLAGS = {
    **METRIC_FLAGS,
    "provider": "--provider",
    "opset": "--opset",
    "y_true_dtype": "--y-true-dtype",
    "y_pred_dtype": "--y-pred-dtype",
    "y_true_rank": "--y-true-rank",
    "y_pred_rank": "--y-pred-rank",
}


def parse_class_ids(text: str) -> list[int]:
    """Parse comma-separated class ids such as ``0,2``."""
    try:
        return [int(item) for item in text.split(",") if item.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated ints such as 0,2, but got {text!r}"
        ) from None


def add_parser(subparsers: Any) -> None:
    """Add the ``export`` subcommand to ``subparsers``."""
    parser = subparsers.add_parser(
        "export",
        help=SUBCOMMANDS["export"].summary,
        description=(
            "Write update.onnx, result.onnx and step.onnx of one metric "
            "configuration into --out. Metric flags are the constructor "
            "arguments of the Keras class; a flag the class does not take "
            "is an error."
        ),
    )
    parser.add_argument(
        "metric",
        metavar="METRIC",
        choices=list(METRICS),
        help=f"the Keras class: {', '.join(METRICS)}",
    )
    _add_metric_flags(parser.add_argument_group("metric arguments"))
    _add_graph_flags(parser.add_argument_group("graph arguments"))


def _add_metric_flags(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--num-classes",
        type=int,
        metavar="N",
        help="number of classes (not for BinaryIoU)",
    )
    group.add_argument(
        "--target-class-ids",
        type=parse_class_ids,
        metavar="IDS",
        help="comma-separated classes averaged into the result, "
        "e.g. 0,2 (IoU, OneHotIoU, BinaryIoU)",
    )
    group.add_argument(
        "--ignore-class",
        type=int,
        action="append",
        metavar="ID",
        help="a class id whose y_true pairs are not counted. Repeat the flag "
        "to ignore several ids",
    )
    group.add_argument(
        "--threshold",
        type=float,
        metavar="T",
        help="BinaryIoU: scores >= T are class 1 (default 0.5)",
    )
    group.add_argument(
        "--dense-y-true",
        dest="sparse_y_true",
        action="store_const",
        const=False,
        help="y_true is one-hot or scores, argmax over --axis (IoU, MeanIoU)",
    )
    pred = group.add_mutually_exclusive_group()
    pred.add_argument(
        "--dense-y-pred",
        dest="sparse_y_pred",
        action="store_const",
        const=False,
        help="y_pred is logits or probabilities, argmax over --axis (IoU, MeanIoU)",
    )
    pred.add_argument(
        "--sparse-y-pred",
        dest="sparse_y_pred",
        action="store_const",
        const=True,
        help="y_pred is class ids (OneHotIoU, OneHotMeanIoU)",
    )
    group.add_argument(
        "--axis", type=int, metavar="A", help="class axis of dense inputs (default -1)"
    )
    group.add_argument(
        "--state-dtype",
        choices=STATE_DTYPES,
        help="element type of the confusion matrix (default float64)",
    )
    group.add_argument(
        "--kernel",
        choices=KERNELS,
        help="accumulate kernel. auto (the default) takes the kernel of the "
        "--provider profile: scatter for cpu and cuda, onehot_matmul for tensorrt",
    )


def _add_graph_flags(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--provider",
        choices=PROFILES,
        help=f"execution provider the graphs are formulated for (default "
        f"{DEFAULT_PROFILE})",
    )
    group.add_argument(
        "--opset",
        type=int,
        default=DEFAULT_OPSET,
        metavar="N",
        help=f"ONNX opset, {MIN_OPSET} to {MAX_OPSET} (default {DEFAULT_OPSET})",
    )
    group.add_argument(
        "--y-true-dtype",
        metavar="DTYPE",
        help="element type of y_true (default int64 for class "
        "ids, float32 for dense input)",
    )
    group.add_argument(
        "--y-pred-dtype",
        metavar="DTYPE",
        help="element type of y_pred (default int64 for class ids, float32 for scores)",
    )
    group.add_argument(
        "--y-true-rank",
        type=int,
        metavar="R",
        help="rank of y_true (default 3 for class ids "
        "[batch, height, width], 4 for dense input)",
    )
    group.add_argument(
        "--y-pred-rank",
        type=int,
        metavar="R",
        help="rank of y_pred (default 3 for class ids and "
        "BinaryIoU scores, 4 for dense input)",
    )
    group.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="directory to write the three .onnx files into",
    )


def metric_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """Return the constructor arguments set on the command line."""
    arguments = {
        name: getattr(args, name)
        for name in METRIC_FLAGS
        if getattr(args, name) is not None
    }
    ignored = arguments.get("ignore_class")
    if ignored is not None and len(ignored) == 1:
        arguments["ignore_class"] = ignored[0]
    return arguments


def make_metric(name: str, arguments: dict[str, Any]) -> _IoUBase:
    """Create metric class ``name`` from ``arguments``, naming any misplaced flag.

    Raises ValueError for a flag the class does not take or a required
    flag that is missing.
    """
    metric_cls = METRICS[name]
    parameters = inspect.signature(metric_cls).parameters
    accepted = [METRIC_FLAGS[key] for key in parameters if key in METRIC_FLAGS]
    for key in arguments:
        if key not in parameters:
            raise ValueError(
                f"{name} does not take {METRIC_FLAGS[key]}. Its metric flags "
                f"are {', '.join(accepted)}."
            )
    for key, parameter in parameters.items():
        required = parameter.default is inspect.Parameter.empty
        if required and key in METRIC_FLAGS and key not in arguments:
            raise ValueError(f"{name} requires {METRIC_FLAGS[key]}.")
    return metric_cls(**arguments)


def run(args: argparse.Namespace) -> int:
    """Export the three graphs and print the path of each file written."""
    metric = make_metric(args.metric, metric_arguments(args))
    paths = export(
        metric,
        args.out,
        opset=args.opset,
        y_true_dtype=args.y_true_dtype,
        y_pred_dtype=args.y_pred_dtype,
        y_true_rank=args.y_true_rank,
        y_pred_rank=args.y_pred_rank,
        provider=args.provider,
    )
    for path in paths.values():
        print(path)
    return 0
