"""Validate the metric flags of ``onnxiou evaluate`` together.

Errors name the flags as the user typed them, because these checks combine
several flags that the metric constructors see only as arguments.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import onnxruntime

from onnxiou.evaluation.errors import EvaluationError
from onnxiou.evaluation.options import MetricOptions


def metric_options(
    args: argparse.Namespace,
    class_names: list[str] | None,
    class_names_path: Path | None,
) -> MetricOptions:
    """Validate the metric flags together and return them as MetricOptions."""
    num_classes = _num_classes(args, class_names, class_names_path)
    targets = _parse_class_ids(args.target_class_ids)
    if args.metric == "BinaryIoU" and args.ignore_class:
        raise EvaluationError(
            "--ignore-class does not apply to BinaryIoU, which has no ignore_class "
            "argument; use --metric MeanIoU --num-classes 2 to ignore a label"
        )
    if args.metric == "MeanIoU" and targets is not None:
        raise EvaluationError(
            "--target-class-ids does not apply to MeanIoU, which averages all "
            "classes; use --metric IoU to average some of them"
        )
    if args.metric == "IoU" and targets is None:
        raise EvaluationError("--metric IoU needs --target-class-ids, such as 0,2")
    if args.metric != "BinaryIoU" and args.threshold is not None:
        raise EvaluationError("--threshold applies only to --metric BinaryIoU")
    return MetricOptions(
        metric=args.metric,
        num_classes=num_classes,
        ignore_class=tuple(args.ignore_class),
        target_class_ids=targets,
        threshold=args.threshold,
        axis=args.axis,
        state_dtype=args.state_dtype,
        kernel=args.kernel,
        providers=_parse_providers(args.providers),
    )


def binary_foreground(args: argparse.Namespace) -> int | None:
    """Return the validated ``--binary-foreground`` value, or None if unset."""
    value = args.binary_foreground
    if value is None:
        return None
    if args.metric != "BinaryIoU":
        raise EvaluationError(
            "--binary-foreground applies only to --metric BinaryIoU; for other "
            "metrics, --ignore-class drops a label value"
        )
    if value == 0:
        raise EvaluationError(
            "--binary-foreground 0 would read the background label 0 as class 1; "
            "pass the foreground value of the masks, such as 255"
        )
    return value


def _num_classes(
    args: argparse.Namespace,
    class_names: list[str] | None,
    class_names_path: Path | None,
) -> int:
    if args.metric == "BinaryIoU":
        expected = 2
    elif class_names is not None:
        expected = len(class_names)
    elif args.num_classes is None:
        raise EvaluationError(
            "--num-classes is required unless --class-names FILE lists the classes"
        )
    else:
        expected = args.num_classes
    if args.num_classes is not None and args.num_classes != expected:
        source = "BinaryIoU" if args.metric == "BinaryIoU" else "--class-names"
        raise EvaluationError(
            f"--num-classes {args.num_classes} contradicts {source}, which gives "
            f"{expected} classes"
        )
    if class_names is not None and len(class_names) != expected:
        raise EvaluationError(
            f"--class-names {class_names_path} lists {len(class_names)} names, but "
            f"{args.metric} has {expected} classes"
        )
    if expected < 1:
        raise EvaluationError(f"--num-classes must be at least 1, but got {expected}")
    return expected


def _parse_class_ids(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return tuple(int(item) for item in text.split(",") if item.strip())
    except ValueError:
        raise EvaluationError(
            f"--target-class-ids expects comma-separated ints such as 0,2, but got "
            f"{text!r}"
        ) from None


def _parse_providers(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    available = onnxruntime.get_available_providers()
    unknown = [name for name in names if name not in available]
    if not names or unknown:
        raise EvaluationError(
            f"--providers {text!r} names no provider or one this onnxruntime does "
            f"not offer ({', '.join(unknown) or 'empty list'}); available: "
            f"{', '.join(available)}"
        )
    return names
