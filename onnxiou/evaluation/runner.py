"""Count label/prediction pairs into a metric one file at a time."""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Sequence

import numpy as np

from onnxiou.evaluation.checkpoint import CheckpointSaver
from onnxiou.evaluation.errors import EvaluationError
from onnxiou.evaluation.interrupts import StopSignals
from onnxiou.evaluation.options import Metric
from onnxiou.evaluation.pairing import Pair
from onnxiou.evaluation.progress import RunProgress
from onnxiou.evaluation.readers import read_array
from onnxiou.evaluation.shapes import PredictionKind, check_pair_shapes

logger = logging.getLogger(__name__)

# Test hook: seconds to sleep after each file, so that a test can send a
# signal while a run over a few small files is still going.
TEST_DELAY_VARIABLE = "ONNXIOU_TEST_DELAY"

# Number of distinct out-of-range values a --strict error lists.
_LISTED_VALUES = 5


@dataclasses.dataclass(frozen=True)
class RunSettings:
    """Settings for checking and counting each pair."""

    kind: PredictionKind
    axis: int = -1
    strict: bool = False


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
            dropped = count_pair(metric, pair, settings)
        except EvaluationError:
            if saver is not None:
                saver.save(metric, progress)
            raise
        progress.add(pair.stem, dropped)
        if saver is not None:
            saver.file_done(metric, progress)
        if on_file_done is not None:
            on_file_done(pair)
        if delay:
            time.sleep(delay)
    return None if stop is None else stop.signum


def count_pair(metric: Metric, pair: Pair, settings: RunSettings) -> float:
    """Add one pair to ``metric`` and return its number of dropped pixels.

    Raises EvaluationError, leaving the state as it was, when a file cannot
    be read, the shapes do not match, or ``settings.strict`` is set and some
    pixel is dropped.
    """
    label = read_array(pair.label)
    prediction = read_array(pair.prediction)
    num_classes = metric.spec.num_classes
    check_pair_shapes(
        pair, label, prediction, settings.kind, settings.axis, num_classes
    )
    saved = _save_state(metric) if settings.strict else None
    before = metric.dropped_weight
    try:
        metric.update_state(label, prediction)
    except (TypeError, ValueError) as error:
        raise EvaluationError(
            f"cannot evaluate {pair.label} against {pair.prediction}: {error}"
        ) from None
    dropped = metric.dropped_weight - before
    if saved is not None and dropped:
        metric.load_state(saved[0], dropped_weight=saved[1], ignored_weight=saved[2])
        raise EvaluationError(_strict_message(metric, pair, label, prediction, dropped))
    return dropped


def _save_state(metric: Metric) -> tuple[np.ndarray, float, float]:
    return metric.total_cm, metric.dropped_weight, metric.ignored_weight


def _strict_message(
    metric: Metric,
    pair: Pair,
    label: np.ndarray,
    prediction: np.ndarray,
    dropped: float,
) -> str:
    spec = metric.spec
    message = (
        f"--strict: {dropped:.0f} pixels of {pair.label} have a label or predicted "
        f"class outside [0, {spec.num_classes}) that is not ignored"
    )
    bad_labels = _out_of_range(label, spec.num_classes, spec.ignore_class)
    if bad_labels:
        message += f"; label values {bad_labels}"
    sparse_prediction = spec.sparse_y_pred and spec.threshold is None
    if sparse_prediction and prediction.ndim == label.ndim:
        bad_predictions = _out_of_range(prediction, spec.num_classes, ())
        if bad_predictions:
            message += f"; predicted values {bad_predictions} in {pair.prediction}"
    return message


def _out_of_range(array: np.ndarray, num_classes: int, ignored: tuple[int, ...]) -> str:
    """Return up to a few distinct values outside ``[0, num_classes)`` as text."""
    inside = (array >= 0) & (array < num_classes)
    if ignored:
        inside |= np.isin(array, ignored)
    values = np.unique(array[~inside])
    if values.size == 0:
        return ""
    listed = ", ".join(str(value) for value in values[:_LISTED_VALUES].tolist())
    more = values.size - _LISTED_VALUES
    return f"{listed} and {more} more" if more > 0 else listed
