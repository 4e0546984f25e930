"""Warnings and ``--strict`` errors about dropped and truncated pixels.

Each message lists the values found and the fix. A BinaryIoU label must be
0 or 1, so for it the fix is converting the masks (or
``--binary-foreground``) rather than ``--ignore-class``, which BinaryIoU
does not take.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from onnxiou._spec import MetricSpec
from onnxiou.evaluation.findings import (
    LISTED_ITEMS,
    FileFindings,
    first_fractional_value,
    format_values,
    pixels,
    single_whole_value,
    value_text,
)
from onnxiou.evaluation.pairing import Pair
from onnxiou.evaluation.progress import RunProgress

_LABEL_RESIZE_HINT = (
    "class ids are whole numbers, so resize label maps with nearest-neighbour "
    "interpolation, not bilinear"
)
_PREDICTION_HINT = (
    f"{_LABEL_RESIZE_HINT}; class scores (logits or probabilities) need one axis "
    "more than the labels"
)


def _is_binary(spec: MetricSpec) -> bool:
    """Return whether ``spec`` is BinaryIoU's, the one metric with a threshold."""
    return spec.threshold is not None


def strict_dropped_message(spec: MetricSpec, pair: Pair, findings: FileFindings) -> str:
    """Return the --strict error for a pair with dropped pixels."""
    found = _found_values(
        findings.dropped_labels, findings.dropped_predictions, pair.prediction
    )
    hint = _dropped_hint(spec, findings.dropped_labels)
    return (
        f"--strict: {pixels(findings.dropped)} of {pair.label} "
        f"{_plural(findings.dropped, 'has', 'have')} "
        f"{_dropped_reason(spec)}{found}; {hint}"
    )


def dropped_warning(spec: MetricSpec, progress: RunProgress) -> str | None:
    """Return the warning about the pixels a finished run dropped, or None."""
    dropped = sum(progress.dropped_by_file.values())
    if not dropped:
        return None
    files = len(progress.dropped_by_file)
    found = _found_values(progress.dropped_labels, progress.dropped_predictions)
    hint = _dropped_hint(spec, progress.dropped_labels)
    verb = _plural(
        dropped,
        "was not scored because it has",
        "were not scored because they have",
    )
    return (
        f"{pixels(dropped)} in {files} file(s) {verb} {_dropped_reason(spec)}{found}; "
        f"{hint}; --strict stops the run at the first such file"
    )


def _plural(count: float, singular: str, plural: str) -> str:
    return singular if count == 1 else plural


def _dropped_reason(spec: MetricSpec) -> str:
    if _is_binary(spec):
        return "a label other than 0 and 1"
    return (
        f"a label or predicted class outside [0, {spec.num_classes}) that is not "
        "ignored"
    )


def _found_values(
    labels: dict[str, int], predictions: dict[str, int], prediction_path: object = None
) -> str:
    """Return ": labels 255 (40 pixels); predicted classes ...", or "" if none.

    A checkpoint written before the values were recorded has none.
    """
    parts = []
    if labels:
        parts.append(f"labels {format_values(labels)}")
    if predictions:
        where = f" in {prediction_path}" if prediction_path is not None else ""
        parts.append(f"predicted classes {format_values(predictions)}{where}")
    return f": {'; '.join(parts)}" if parts else ""


def _dropped_hint(spec: MetricSpec, labels: dict[str, int]) -> str:
    value = single_whole_value(labels)
    if _is_binary(spec):
        flag = f"--binary-foreground {value if value is not None else 'VALUE'}"
        return (
            "BinaryIoU labels must be 0 or 1, so a 0/255 mask needs converting to "
            f"0/1, or pass {flag} to read that label value as class 1"
        )
    if labels:
        flag = f"--ignore-class {value if value is not None else 'ID'}"
        return f"pass {flag} if that label marks void pixels, or check --num-classes"
    return "check --num-classes and the class ids of the predictions"


def strict_fractional_message(
    pair: Pair,
    label: np.ndarray,
    prediction: np.ndarray,
    fractional_labels: int,
    fractional_predictions: int,
) -> str:
    """Return the --strict error for a pair with fractional class ids."""
    if fractional_labels:
        example = value_text(first_fractional_value(label))
        return (
            f"--strict: {pixels(fractional_labels)} of {pair.label} "
            f"{_plural(fractional_labels, 'has', 'have')} a fractional label, such "
            f"as {example}, which the metric would truncate to a class id; "
            f"{_LABEL_RESIZE_HINT}"
        )
    example = value_text(first_fractional_value(prediction))
    return (
        f"--strict: {pixels(fractional_predictions)} of {pair.prediction} "
        f"{_plural(fractional_predictions, 'has', 'have')} a fractional predicted "
        f"class, such as {example}, which the metric would "
        f"truncate to a class id; {_PREDICTION_HINT}"
    )


def fractional_warnings(pairs: Sequence[Pair], progress: RunProgress) -> list[str]:
    """Return the warnings about fractional labels and predicted classes."""
    by_stem = {pair.stem: pair for pair in pairs}
    messages = []
    if progress.fractional_labels:
        paths = {stem: by_stem[stem].label for stem in progress.fractional_labels}
        messages.append(
            _fractional_warning("label", progress.fractional_labels, paths)
            + f"; {_LABEL_RESIZE_HINT}"
        )
    if progress.fractional_predictions:
        paths = {
            stem: by_stem[stem].prediction for stem in progress.fractional_predictions
        }
        messages.append(
            _fractional_warning(
                "predicted class", progress.fractional_predictions, paths
            )
            + f"; {_PREDICTION_HINT}"
        )
    strict_hint = "; --strict stops the run at the first such file"
    return [message + strict_hint for message in messages]


def _fractional_warning(
    role: str, counts: dict[str, int], paths: dict[str, Path]
) -> str:
    listed = [
        f"{paths[stem]} ({pixels(count)})"
        for stem, count in list(counts.items())[:LISTED_ITEMS]
    ]
    remaining = len(counts) - LISTED_ITEMS
    more = f" and {remaining} more" if remaining > 0 else ""
    total = sum(counts.values())
    return (
        f"{pixels(total)} in {len(counts)} file(s) {_plural(total, 'has', 'have')} "
        f"a fractional {role}, which was truncated to a class id: "
        f"{', '.join(listed)}{more}"
    )
