"""Count label/prediction pairs into a metric one file at a time."""

from __future__ import annotations

import dataclasses
import logging
import os
import time
import warnings
from collections.abc import Callable, Sequence

import numpy as np

from onnxiou import FractionalValueWarning
from onnxiou.evaluation.checkpoint import CheckpointSaver
from onnxiou.evaluation.errors import EvaluationError
from onnxiou.evaluation.findings import (
    FileFindings,
    fractional_count,
    out_of_range_values,
)
from onnxiou.evaluation.interrupts import StopSignals
from onnxiou.evaluation.messages import (
    strict_dropped_message,
    strict_fractional_message,
)
from onnxiou.evaluation.options import Metric
from onnxiou.evaluation.pairing import Pair
from onnxiou.evaluation.progress import RunProgress
from onnxiou.evaluation.readers import read_array
from onnxiou.evaluation.shapes import (
    PredictionKind,
    check_pair_shapes,
    without_trailing_axis,
)

logger = logging.getLogger(__name__)

# Test hook: seconds to sleep after each file, so that a test can send a
# signal while a run over a few small files is still going.
TEST_DELAY_VARIABLE = "ONNXIOU_TEST_DELAY"


@dataclasses.dataclass(frozen=True)
class RunSettings:
    """Settings for checking and counting each pair.

    ``binary_foreground`` is a label value that is read as class 1 before
    counting, such as 255 for 0/255 masks, or None to read labels as they
    are.
    """

    kind: PredictionKind
    axis: int = -1
    strict: bool = False
    binary_foreground: int | None = None


def evaluate_pairs(
    metric: Metric,
    pairs: Sequence[Pair],
    progress: RunProgress,
    settings: RunSettings,
    *,
    saver: CheckpointSaver | None = None,
    stop: StopSignals | None = None,
    on_file_done: Callable[[Pair], None] | None = None,
) -> int | None:
    """Count every pair that ``progress`` does not list yet into ``metric``.

    Before each file and at the end the run polls ``stop``. Returns the
    number of the signal received, or None if every pair was counted
    without a signal. ``saver`` saves the checkpoint every few files, and
    again before an EvaluationError about a file propagates, because the
    state then still excludes that file.
    """
    delay = float(os.environ.get(TEST_DELAY_VARIABLE, "0") or 0)
    for pair in pairs:
        if progress.is_finished(pair.stem):
            continue
        if stop is not None and stop.signum is not None:
            return stop.signum
        try:
            findings = count_pair(metric, pair, settings)
        except EvaluationError:
            if saver is not None:
                saver.save(metric, progress)
            raise
        progress.add(pair.stem, findings)
        if saver is not None:
            saver.file_done(metric, progress)
        if on_file_done is not None:
            on_file_done(pair)
        if delay:
            time.sleep(delay)
    return None if stop is None else stop.signum


def count_pair(metric: Metric, pair: Pair, settings: RunSettings) -> FileFindings:
    """Add one pair to ``metric`` and return what it dropped or truncated.

    Raises EvaluationError, leaving the state as it was, when a file cannot
    be read, the shapes do not match, or ``settings.strict`` is set and some
    pixel is dropped or has a fractional label or predicted class.
    """
    label, prediction = _read_pair(pair, settings, metric.spec.num_classes)
    fractional_labels = fractional_count(label)
    fractional_predictions = 0
    if _predicts_class_ids(metric, settings):
        fractional_predictions = fractional_count(prediction)
    if settings.strict and (fractional_labels or fractional_predictions):
        raise EvaluationError(
            strict_fractional_message(
                pair, label, prediction, fractional_labels, fractional_predictions
            )
        )
    saved = _save_state(metric) if settings.strict else None
    before = metric.dropped_weight
    _update(metric, pair, label, prediction)
    dropped = metric.dropped_weight - before
    findings = FileFindings(
        dropped=dropped,
        fractional_labels=fractional_labels,
        fractional_predictions=fractional_predictions,
    )
    if dropped:
        findings = _with_dropped_values(findings, metric, settings, label, prediction)
    if saved is not None and dropped:
        metric.load_state(saved[0], dropped_weight=saved[1], ignored_weight=saved[2])
        raise EvaluationError(strict_dropped_message(metric.spec, pair, findings))
    return findings


def _read_pair(
    pair: Pair, settings: RunSettings, num_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Read and check one pair, and map the binary foreground label to 1."""
    label = read_array(pair.label)
    prediction = read_array(pair.prediction)
    label = without_trailing_axis(label, prediction, settings.kind)
    check_pair_shapes(
        pair, label, prediction, settings.kind, settings.axis, num_classes
    )
    if settings.binary_foreground is not None:
        label = np.where(label == settings.binary_foreground, 1, label)
    return label, prediction


def _predicts_class_ids(metric: Metric, settings: RunSettings) -> bool:
    """Return whether predictions are class ids, not class or BinaryIoU scores."""
    return settings.kind is PredictionKind.LABELS and metric.spec.threshold is None


def _update(
    metric: Metric, pair: Pair, label: np.ndarray, prediction: np.ndarray
) -> None:
    try:
        with warnings.catch_warnings():
            # The run counts fractional labels and predicted classes itself and
            # reports them with the file names, so the metric's warning would
            # repeat them.
            warnings.simplefilter("ignore", category=FractionalValueWarning)
            metric.update_state(label, prediction)
    except (TypeError, ValueError) as error:
        raise EvaluationError(
            f"cannot evaluate {pair.label} against {pair.prediction}: {error}"
        ) from None


def _with_dropped_values(
    findings: FileFindings,
    metric: Metric,
    settings: RunSettings,
    label: np.ndarray,
    prediction: np.ndarray,
) -> FileFindings:
    """Return ``findings`` with the out-of-range values of the pair."""
    spec = metric.spec
    labels = out_of_range_values(label, spec.num_classes, spec.ignore_class)
    predictions = {}
    if _predicts_class_ids(metric, settings):
        predictions = out_of_range_values(prediction, spec.num_classes)
    return dataclasses.replace(
        findings, dropped_labels=labels, dropped_predictions=predictions
    )


def _save_state(metric: Metric) -> tuple[np.ndarray, float, float]:
    return metric.total_cm, metric.dropped_weight, metric.ignored_weight
