"""The metric options of a run and the metric they build."""

from __future__ import annotations

import dataclasses

from onnxiou.evaluation.errors import EvaluationError
from onnxiou.evaluation.shapes import PredictionKind
from onnxiou.metrics import BinaryIoU, IoU, MeanIoU

METRIC_CHOICES = ("MeanIoU", "IoU", "BinaryIoU")


@dataclasses.dataclass(frozen=True)
class MetricOptions:
    """Constructor arguments of the metric, as the command line gives them.

    ``num_classes`` is 2 for BinaryIoU. ``target_class_ids`` is None for
    MeanIoU, and ``threshold`` is None unless the metric is BinaryIoU.
    """

    metric: str
    num_classes: int
    ignore_class: tuple[int, ...] = ()
    target_class_ids: tuple[int, ...] | None = None
    threshold: float | None = None
    axis: int = -1
    state_dtype: str = "float64"
    kernel: str = "auto"
    providers: tuple[str, ...] | None = None


Metric = IoU | MeanIoU | BinaryIoU


def make_metric(options: MetricOptions, kind: PredictionKind) -> Metric:
    """Create the metric for predictions of ``kind``.

    Label-map predictions get ``sparse_y_pred=True`` and class scores
    ``sparse_y_pred=False`` with the class axis ``options.axis``. Raises
    EvaluationError when the metric rejects an option, and for class scores
    with BinaryIoU, which takes one score per pixel.
    """
    if options.metric == "BinaryIoU":
        _check_binary_kind(kind)
    providers = list(options.providers) if options.providers else None
    common = {"state_dtype": options.state_dtype, "kernel": options.kernel}
    try:
        if options.metric == "BinaryIoU":
            return BinaryIoU(
                target_class_ids=list(options.target_class_ids or (0, 1)),
                threshold=0.5 if options.threshold is None else options.threshold,
                providers=providers,
                **common,
            )
        sparse = kind is PredictionKind.LABELS
        keyword = {
            "ignore_class": list(options.ignore_class) or None,
            "sparse_y_pred": sparse,
            "axis": -1 if sparse else options.axis,
            "providers": providers,
            **common,
        }
        if options.metric == "IoU":
            return IoU(options.num_classes, list(options.target_class_ids), **keyword)
        return MeanIoU(options.num_classes, **keyword)
    except (TypeError, ValueError) as error:
        raise EvaluationError(f"invalid {options.metric} option: {error}") from None


def _check_binary_kind(kind: PredictionKind) -> None:
    if kind is PredictionKind.SCORES:
        raise EvaluationError(
            "BinaryIoU takes one score per pixel, but the predictions contain class "
            "scores (one axis more than the labels); use --metric MeanIoU "
            "--num-classes 2 for them"
        )
